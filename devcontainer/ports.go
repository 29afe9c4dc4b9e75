package devcontainer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Port is one forwardPorts entry: a number (a port of the container) or
// "host:port" (a port of another host the container reaches, such as a
// docker-compose service).
type Port struct {
	Host string // empty for the container itself
	Port int
}

// UnmarshalJSON accepts 3000 and "db:5432".
func (p *Port) UnmarshalJSON(b []byte) error {
	*p = Port{}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		p.Port = n
		return p.check(string(b))
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a port is a number or \"host:port\", got %s", kind(b))
	}
	host, port, ok := strings.Cut(s, ":")
	if !ok {
		if n, err := strconv.Atoi(s); err == nil {
			p.Port = n
			return p.check(s)
		}
		return fmt.Errorf("port %q: want a number or \"host:port\"", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || host == "" {
		return fmt.Errorf("port %q: want \"host:port\" with a numeric port", s)
	}
	p.Host, p.Port = host, n
	return p.check(s)
}

func (p Port) check(as string) error {
	if p.Port < 1 || p.Port > 65535 {
		return fmt.Errorf("port %s: want 1 to 65535", as)
	}
	return nil
}

// MarshalJSON writes a number, or "host:port" when Host is set.
func (p Port) MarshalJSON() ([]byte, error) {
	if p.Host == "" {
		return json.Marshal(p.Port)
	}
	return json.Marshal(p.String())
}

// String is "3000" or "db:5432".
func (p Port) String() string {
	if p.Host == "" {
		return strconv.Itoa(p.Port)
	}
	return p.Host + ":" + strconv.Itoa(p.Port)
}
