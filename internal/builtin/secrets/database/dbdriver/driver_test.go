package dbdriver

import (
	"reflect"
	"testing"
)

func TestSplit(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{[]string{"A; B;"}, []string{"A", "B"}},
		{[]string{"CREATE ROLE \"a;b\" PASSWORD 'x;y'; GRANT"}, []string{"CREATE ROLE \"a;b\" PASSWORD 'x;y'", "GRANT"}},
		{[]string{"DO $$ BEGIN x; y; END $$; SELECT 1"}, []string{"DO $$ BEGIN x; y; END $$", "SELECT 1"}},
		{[]string{"DO $f$ a; $$ b; $f$;", "  ", "C"}, []string{"DO $f$ a; $$ b; $f$", "C"}},
		{[]string{"SELECT $1; SELECT 2"}, []string{"SELECT $1", "SELECT 2"}},
	}
	for _, c := range cases {
		if got := Split(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Split(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRenderAndPrepareURL(t *testing.T) {
	got := Render(`CREATE ROLE "{{name}}" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; -- {{username}}`, Vars("u1", "p1", "e1"))
	if want := `CREATE ROLE "u1" PASSWORD 'p1' VALID UNTIL 'e1'; -- u1`; got != want {
		t.Fatalf("got %q", got)
	}
	u, hu, hp := PrepareURL("postgres://{{username}}:{{password}}@h/db")
	if u != "postgres://sbdbuser:sbdbpassword@h/db" || !hu || !hp {
		t.Fatalf("PrepareURL: %q %v %v", u, hu, hp)
	}
	if _, hu, hp := PrepareURL("postgres://a:b@h/db"); hu || hp {
		t.Fatal("no templates reported as present")
	}
}
