package database

import "testing"

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"postgres://{{username}}:{{password}}@h:5432/db":          "postgres://{{username}}:{{password}}@h:5432/db",
		"postgres://admin:s3cret@h:5432/db?sslmode=disable":       "postgres://admin:*****@h:5432/db?sslmode=disable",
		"{{username}}:{{password}}@tcp(127.0.0.1:3306)/":          "{{username}}:{{password}}@tcp(127.0.0.1:3306)/",
		"root:s3cret@tcp(127.0.0.1:3306)/app":                     "root:*****@tcp(127.0.0.1:3306)/app",
		"host=h user=admin password=s3cret dbname=x":              "host=h user=admin password=***** dbname=x",
		"host=h user={{username}} password={{password}} dbname=x": "host=h user={{username}} password={{password}} dbname=x",
	}
	for in, want := range cases {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
