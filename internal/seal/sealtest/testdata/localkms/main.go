// Command localkms serves the local-kms emulator's AWS KMS API
// (github.com/nsmithuk/local-kms) on the loopback interface only, for the
// awskms seal tests. The upstream command binds every interface; this one
// binds 127.0.0.1 and prints "listening on ADDR" once it accepts connections.
//
// Environment: KMS_DATA_PATH (required, the LevelDB directory), KMS_REGION
// (default us-east-1), KMS_ACCOUNT_ID (default 111122223333), PORT (default
// 0: a free port).
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	lkms "github.com/nsmithuk/local-kms/src"
	"github.com/nsmithuk/local-kms/src/config"
	"github.com/nsmithuk/local-kms/src/data"
)

func main() {
	dataPath := os.Getenv("KMS_DATA_PATH")
	if dataPath == "" {
		log.Fatal("localkms: KMS_DATA_PATH is required")
	}
	config.AWSRegion = envOr("KMS_REGION", "us-east-1")
	config.AWSAccountId = envOr("KMS_ACCOUNT_ID", "111122223333")
	config.DatabasePath = dataPath

	// The process runs until the test kills it; LevelDB's journal makes
	// that safe, so the database is never closed explicitly.
	db := data.NewDatabase(dataPath)

	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", envOr("PORT", "0")))
	if err != nil {
		log.Fatalf("localkms: listen: %v", err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	err = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lkms.HandleRequest(w, r, db)
	}))
	log.Fatalf("localkms: serve: %v", err)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
