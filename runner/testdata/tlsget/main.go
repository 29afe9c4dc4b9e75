// Command tlsget is a test client copied into sandboxes (busybox's wget
// has no working TLS there): tlsget ADDR:PORT SNI does a GET / over TLS
// with server name SNI (certificate not checked) and prints the body.
package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: tlsget ADDR:PORT SNI")
		os.Exit(2)
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{ServerName: os.Args[2], InsecureSkipVerify: true},
		DialContext:     (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	tr.DialTLSContext = nil
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", "https://"+os.Args[1]+"/", nil)
	req.Host = os.Args[2]
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
}
