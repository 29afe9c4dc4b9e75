package api

import (
	"bufio"
	"encoding/base64"
	"io"
	"strconv"

	"github.com/codepod-dev/codepod/gateway"
)

// writeExecResponse writes res as an ExecResponse JSON object straight from
// the captured buffers, without building the document in memory: a buffered
// exec costs the server its two capture buffers and a 32 KiB write buffer,
// whatever the output holds. Worst case on the wire per stream: base64
// (4/3 of max_output_bytes) or text escaped to at most 2× its bytes (see
// gateway.Output.Encoded).
func writeExecResponse(w io.Writer, res *gateway.ExecResult) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	out, outEnc := res.Stdout.Encoded()
	errOut, errEnc := res.Stderr.Encoded()
	bw.WriteString(`{"exit_code":` + strconv.Itoa(res.ExitCode))
	bw.WriteString(`,"signal":` + strconv.Quote(res.Signal))
	bw.WriteString(`,"timed_out":` + strconv.FormatBool(res.TimedOut))
	bw.WriteString(`,"stdout":`)
	writeJSONData(bw, out, outEnc)
	bw.WriteString(`,"stderr":`)
	writeJSONData(bw, errOut, errEnc)
	bw.WriteString(`,"stdout_encoding":"` + outEnc + `","stderr_encoding":"` + errEnc + `"`)
	bw.WriteString(`,"stdout_truncated":` + strconv.FormatBool(res.Stdout.Truncated))
	bw.WriteString(`,"stderr_truncated":` + strconv.FormatBool(res.Stderr.Truncated))
	bw.WriteString(`,"duration_ms":` + strconv.FormatInt(res.Duration.Milliseconds(), 10) + "}\n")
	return bw.Flush()
}

// writeJSONData writes data as a JSON string: base64, or UTF-8 text with
// quotes, backslashes and control characters escaped.
func writeJSONData(bw *bufio.Writer, data []byte, encoding string) {
	bw.WriteByte('"')
	defer bw.WriteByte('"')
	if encoding == gateway.EncodingBase64 {
		enc := base64.NewEncoder(base64.StdEncoding, bw)
		enc.Write(data)
		enc.Close()
		return
	}
	const hex = "0123456789abcdef"
	start := 0
	for i, c := range data {
		var esc string
		switch {
		case c == '"':
			esc = `\"`
		case c == '\\':
			esc = `\\`
		case c == '\n':
			esc = `\n`
		case c == '\r':
			esc = `\r`
		case c == '\t':
			esc = `\t`
		case c < 0x20:
			esc = `\u00` + string(hex[c>>4]) + string(hex[c&0xf])
		default:
			continue
		}
		bw.Write(data[start:i])
		bw.WriteString(esc)
		start = i + 1
	}
	bw.Write(data[start:])
}
