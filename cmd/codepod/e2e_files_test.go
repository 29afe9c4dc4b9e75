package main_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// filesCall sends a raw-body request to a files endpoint and returns the
// status and body.
func (c *cluster) filesCall(t *testing.T, method, path string, query url.Values, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(ctx, method, c.URL+path+"?"+query.Encode(), rd)
	req.Header.Set("Authorization", "Bearer "+c.AdminKey)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// testFilesAPI uploads, lists, downloads, archives and deletes through the
// REST files endpoints.
func testFilesAPI(t *testing.T, c *cluster, ref string) {
	base := "/api/v1/sandboxes/" + ref + "/files"
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	data := randomBytes(t, 3<<20)
	if st, b := c.filesCall(t, "PUT", base, q("path", "/tmp/api/sub/data.bin", "mode", "0600"), data); st != 200 {
		t.Fatalf("upload: %d %s", st, b)
	}
	if st, b := c.filesCall(t, "GET", base, q("path", "/tmp/api/sub/data.bin"), nil); st != 200 || !bytes.Equal(b, data) {
		t.Errorf("download: %d, %d bytes, equal %v", st, len(b), bytes.Equal(b, data))
	}
	var list struct {
		Entries []struct {
			Name, Type string
			Size       int64
			Mode       int
		}
	}
	c.mustAPI("GET", base+"/list?path=/tmp/api/sub", nil, &list, 200)
	if len(list.Entries) != 1 || list.Entries[0].Name != "data.bin" || list.Entries[0].Size != int64(len(data)) ||
		list.Entries[0].Mode != 0o600 || list.Entries[0].Type != "file" {
		t.Errorf("list: %+v", list)
	}
	c.mustAPI("POST", base+"/mkdir", map[string]any{"path": "/tmp/api/made/deep", "parents": true}, nil, 201)
	for path, want := range map[string]int{"/tmp/api/missing": 404, "/tmp/api/sub": 400} {
		if st, b := c.filesCall(t, "GET", base, q("path", path), nil); st != want {
			t.Errorf("GET %s: %d %s, want %d", path, st, b, want)
		}
	}
	// A tar up, and the directory as a tar down.
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for name, body := range map[string]string{"x.txt": "x\n", "d/y.txt": "y\n"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	if st, b := c.filesCall(t, "PUT", base+"/archive", q("path", "/tmp/api/untarred"), tb.Bytes()); st != 200 {
		t.Errorf("archive upload: %d %s", st, b)
	}
	st, b := c.filesCall(t, "GET", base+"/archive", q("path", "/tmp/api/untarred"), nil)
	if got := tarFiles(t, b); st != 200 || len(got) != 2 || got[0] != "d/y.txt=y\n" || got[1] != "x.txt=x\n" {
		t.Errorf("archive download: %d, files %q", st, got)
	}
	if st, b := c.filesCall(t, "DELETE", base, q("path", "/tmp/api"), nil); st != 400 {
		t.Errorf("delete a non-empty dir without recursive: %d %s, want 400", st, b)
	}
	if st, b := c.filesCall(t, "DELETE", base, q("path", "/tmp/api", "recursive", "true"), nil); st != 204 {
		t.Errorf("delete recursive: %d %s", st, b)
	}
	if st, _ := c.filesCall(t, "GET", base, q("path", "/tmp/api/sub/data.bin"), nil); st != 404 {
		t.Errorf("download after delete: %d, want 404", st)
	}
}

// tarFiles lists a tar's regular files as "name=content", sorted.
func tarFiles(t *testing.T, b []byte) []string {
	var out []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("read tar: %v", err)
			break
		}
		if h.Typeflag == tar.TypeReg {
			body, _ := io.ReadAll(tr)
			out = append(out, strings.TrimPrefix(h.Name, "./")+"="+string(body))
		}
	}
	sort.Strings(out)
	return out
}
