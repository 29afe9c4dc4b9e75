package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/codepod-dev/codepod"
)

// The preview proxy: /api/v1/sandboxes/{id}/ports/{port}/… is forwarded,
// HTTP and WebSocket alike, to 127.0.0.1:{port} inside the sandbox over a
// direct-tcpip channel of the server's pooled SSH connection to the agent
// (the same path `codepod sandbox port-forward` takes, without a client).

// previewHostSuffix names upstream hosts in the proxy's transport: one host
// per sandbox and port, so kept-alive connections are reused only for it.
const previewHostSuffix = ".preview.codepod.invalid"

// newPreviewProxy makes the reverse proxy and its transport.
func (s *Server) newPreviewProxy() *httputil.ReverseProxy {
	tr := &http.Transport{
		DialContext:           s.dialPreview,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
	return &httputil.ReverseProxy{
		Rewrite:        func(*httputil.ProxyRequest) {}, // done in servePreview, before the proxy runs
		Transport:      tr,
		FlushInterval:  -1, // stream (server-sent events, long polls)
		ModifyResponse: modifyPreviewResponse,
		ErrorHandler:   previewError,
	}
}

// dialPreview dials "<sandbox id>-<port>.preview…:80" through the agent.
func (s *Server) dialPreview(ctx context.Context, _, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	name := strings.TrimSuffix(host, previewHostSuffix)
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return nil, errors.New("bad preview host " + host)
	}
	id, port := name[:i], name[i+1:]
	return s.pool.DialTCP(ctx, id, net.JoinHostPort("127.0.0.1", port))
}

// previewTarget is what servePreview resolved for one request.
type previewTarget struct {
	sb     *codepod.Sandbox
	port   *codepod.SandboxPort
	prefix string // /api/v1/sandboxes/{id}/ports/{port}
}

func (s *Server) servePreview(w http.ResponseWriter, r *http.Request) {
	if s.cfg.PreviewBaseURL != "" && !s.onPreviewHost(r) && r.Header.Get("Authorization") == "" {
		// Browsers reach previews only on the preview origin.
		http.Redirect(w, r, strings.TrimSuffix(s.cfg.PreviewBaseURL, "/")+r.URL.RequestURI(), http.StatusTemporaryRedirect)
		return
	}
	if wait, blocked := s.previewBlocked(r); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		writeProblem(w, r, http.StatusTooManyRequests, fmt.Sprintf("too many failed authentications from %s; retry in %d s (Retry-After)",
			clientAddress(r.RemoteAddr), retryAfter(wait)))
		return
	}
	t, err := s.previewAuth(w, r)
	if codepod.ErrorCode(err) == codepod.EUNAUTHORIZED {
		s.previewFailed(r)
	}
	if err != nil {
		writeCodeProblem(w, r, err)
		return
	}
	if t == nil {
		return // answered (a redirect that set the cookie)
	}
	if t.sb.Status != codepod.SandboxRunning {
		writeCodeProblem(w, r, codepod.Errorf(codepod.ECONFLICT, "sandbox %s is %s, not running; start it first (codepod sandbox start %s)", t.sb.Name, t.sb.Status, t.sb.Name))
		return
	}
	s.touchActive(r.Context(), t.sb)
	out := r.Clone(r.Context())
	rewritePreviewRequest(out, r, t)
	s.preview.ServeHTTP(w, out)
}

// previewOriginOnly keeps the preview origin (PreviewBaseURL) to the
// preview proxy: the web UI and the API are not served there, so a page
// from a sandbox shares nothing with them.
func (s *Server) previewOriginOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.PreviewBaseURL != "" && s.onPreviewHost(r) && !previewPathRE.MatchString(r.URL.Path) {
			writeProblem(w, r, http.StatusNotFound, "this origin serves only sandbox previews ("+Prefix+"/sandboxes/{id}/ports/{port}/…)")
			return
		}
		next.ServeHTTP(w, r)
	})
}

var previewPathRE = regexp.MustCompile(`^` + Prefix + `/sandboxes/[^/]+/ports/[0-9]+/`)

// previewBlocked applies the API's limit on failed authentications (by
// client address and API key id) to the proxy, which authenticates by
// itself.
func (s *Server) previewBlocked(r *http.Request) (time.Duration, bool) {
	if wait, blocked := s.failures.blocked("addr:" + clientAddress(r.RemoteAddr)); blocked {
		return wait, true
	}
	if tok, ok := bearer(r.Header.Get("Authorization")); ok {
		if id := credentialID(tok); id != "" {
			return s.failures.blocked("cred:" + id)
		}
	}
	return 0, false
}

// previewFailed records a refused key or link.
func (s *Server) previewFailed(r *http.Request) {
	s.failures.take("addr:" + clientAddress(r.RemoteAddr))
	if tok, ok := bearer(r.Header.Get("Authorization")); ok {
		if id := credentialID(tok); id != "" {
			s.failures.take("cred:" + id)
		}
	}
}

// onPreviewHost: r came to the configured preview origin.
func (s *Server) onPreviewHost(r *http.Request) bool {
	u, err := url.Parse(s.cfg.PreviewBaseURL)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// previewAuth finds the sandbox and open port of r and checks its
// credential: an API key of the owner, a signed link (query, then a
// redirect that moves it into a cookie) or its cookie, or nothing for a
// public port. A nil target with a nil error means r was answered. A
// browser's navigation with a link is redirected to the same URL without
// the token (the cookie carries it); other clients are answered at once.
func (s *Server) previewAuth(w http.ResponseWriter, r *http.Request) (*previewTarget, error) {
	ctx := r.Context()
	ref := chi.URLParam(r, "id")
	port, err := strconv.Atoi(chi.URLParam(r, "port"))
	if err != nil || port < 1 || port > 65535 {
		return nil, codepod.Errorf(codepod.EINVALID, "port %q must be a number between 1 and 65535", chi.URLParam(r, "port"))
	}
	if tok, ok := bearer(r.Header.Get("Authorization")); ok {
		u, k, err := s.userForKey(ctx, tok)
		if err != nil {
			return nil, err
		}
		if u, err = s.inWorkspace(ctx, u, k, r.Header.Get(WorkspaceHeader)); err != nil {
			return nil, err
		}
		sb, err := s.ctl.GetSandbox(ctx, u, ref)
		if err != nil {
			return nil, err
		}
		p, err := s.ctl.Port(ctx, sb, port)
		if err != nil {
			return nil, err
		}
		return &previewTarget{sb: sb, port: p, prefix: previewPath(sb.ID, port)}, nil
	}
	// Without an API key nothing about the sandbox is told: links name it
	// by id, and a missing sandbox or closed port is one plain 404.
	sb, err := s.ctl.SandboxByID(ctx, ref)
	var p *codepod.SandboxPort
	if err == nil {
		p, err = s.ctl.Port(ctx, sb, port)
	}
	if codepod.ErrorCode(err) == codepod.ENOTFOUND {
		return nil, codepod.Errorf(codepod.ENOTFOUND, "nothing is open here: the port was closed or the sandbox deleted; ask the sandbox's owner for a new preview link")
	}
	if err != nil {
		return nil, err
	}
	t := &previewTarget{sb: sb, port: p, prefix: previewPath(sb.ID, port)}
	if tok := r.URL.Query().Get(previewTokenParam); tok != "" {
		if err := checkPreviewToken(p, sb.OwnerID, tok, s.now()); err != nil {
			return nil, err
		}
		setPreviewCookie(w, r, t, tok)
		if r.Header.Get("Sec-Fetch-Mode") != "navigate" {
			return t, nil // a program (curl, an SDK): answer this request itself
		}
		// A browser: move the token out of the address bar.
		q := r.URL.Query()
		q.Del(previewTokenParam)
		loc := r.URL.EscapedPath()
		if enc := q.Encode(); enc != "" {
			loc += "?" + enc
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
		return nil, nil
	}
	if c, err := r.Cookie(previewCookie); err == nil && c.Value != "" {
		if err := checkPreviewToken(p, sb.OwnerID, c.Value, s.now()); err != nil {
			return nil, err
		}
		return t, nil
	}
	if p.Public {
		return t, nil
	}
	return nil, codepod.Errorf(codepod.EUNAUTHORIZED, "port %d of this sandbox is private: send an API key (Authorization: Bearer …) or open a signed preview link (codepod sandbox url %s %d)", port, sb.Name, port)
}

// setPreviewCookie gives the browser the link's token for the port's path
// only, until the link expires.
func setPreviewCookie(w http.ResponseWriter, r *http.Request, t *previewTarget, tok string) {
	exp := time.Now().Add(DefaultPreviewTTL)
	if es, _, ok := strings.Cut(tok, "."); ok {
		if e, err := strconv.ParseInt(es, 10, 64); err == nil {
			exp = time.Unix(e, 0)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: previewCookie, Value: tok, Path: t.prefix + "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"})
}

// rewritePreviewRequest points out at the sandbox's port: the prefix
// stripped, X-Forwarded-* set, and CodePod's credentials removed so the
// app never sees them.
func rewritePreviewRequest(out, in *http.Request, t *previewTarget) {
	rest := strings.TrimPrefix(in.URL.EscapedPath(), t.prefix)
	if rest == "" {
		rest = "/"
	}
	u := *in.URL
	u.Scheme, u.Host = "http", t.sb.ID+"-"+strconv.Itoa(t.port.Port)+previewHostSuffix
	u.RawPath = rest
	if p, err := url.PathUnescape(rest); err == nil {
		u.Path = p
	}
	q := u.Query()
	if q.Has(previewTokenParam) {
		q.Del(previewTokenParam)
		u.RawQuery = q.Encode()
	}
	out.URL, out.Host, out.RequestURI = &u, "127.0.0.1:"+strconv.Itoa(t.port.Port), ""
	out.Header.Del("Authorization")
	removeCookie(out.Header, previewCookie)
	scheme := "http"
	if in.TLS != nil {
		scheme = "https"
	}
	if p := in.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	out.Header.Set("X-Forwarded-Proto", scheme)
	out.Header.Set("X-Forwarded-Host", in.Host)
	out.Header.Set("X-Forwarded-Prefix", t.prefix)
	if host, _, err := net.SplitHostPort(in.RemoteAddr); err == nil {
		out.Header.Set("X-Forwarded-For", host)
	}
	out.Header.Del("Forwarded")
}

// removeCookie drops one cookie from a request's Cookie headers.
func removeCookie(h http.Header, name string) {
	cookies := (&http.Request{Header: h}).Cookies()
	h.Del("Cookie")
	var keep []string
	for _, c := range cookies {
		if c.Name != name {
			keep = append(keep, c.Name+"="+c.Value)
		}
	}
	if len(keep) > 0 {
		h.Set("Cookie", strings.Join(keep, "; "))
	}
}

// prefixOf recovers the proxy prefix from the upstream request's header.
func prefixOf(r *http.Request) string { return r.Header.Get("X-Forwarded-Prefix") }

// modifyPreviewResponse keeps the app inside its prefix: redirects to the
// app's root are rewritten under the prefix, and cookies it sets are
// confined to the prefix (no Domain, a Path below it; CodePod's own cookie
// cannot be set).
func modifyPreviewResponse(res *http.Response) error {
	prefix := prefixOf(res.Request)
	if loc := res.Header.Get("Location"); loc != "" {
		res.Header.Set("Location", rewriteLocation(loc, prefix, res.Request))
	}
	if sc := res.Header.Values("Set-Cookie"); len(sc) > 0 {
		res.Header.Del("Set-Cookie")
		for _, line := range sc {
			if c, err := http.ParseSetCookie(line); err == nil && c.Name != previewCookie {
				c.Domain = ""
				if c.Path == "" || !strings.HasPrefix(prefix+c.Path, prefix+"/") {
					c.Path = prefix + "/"
				} else {
					c.Path = prefix + c.Path
				}
				res.Header.Add("Set-Cookie", c.String())
			}
		}
	}
	return nil
}

// rewriteLocation maps a redirect of the app into the prefix: "/x" and
// absolute URLs to the app's own address become prefix+"/x"; relative and
// foreign URLs are kept.
func rewriteLocation(loc, prefix string, up *http.Request) string {
	u, err := url.Parse(loc)
	if err != nil {
		return loc
	}
	if u.IsAbs() {
		h := u.Hostname()
		if !(h == "127.0.0.1" || h == "localhost" || h == "0.0.0.0" || strings.EqualFold(u.Host, up.Header.Get("X-Forwarded-Host"))) {
			return loc
		}
		u.Scheme, u.Host, u.User = "", "", nil
	} else if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(loc, "//") {
		return loc
	}
	if u.Path == prefix || strings.HasPrefix(u.Path, prefix+"/") {
		return u.String()
	}
	u.Path = prefix + u.Path
	u.RawPath = ""
	return u.String()
}

// previewError answers a request the sandbox's port did not take.
func previewError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	port := strings.TrimPrefix(r.Host, "127.0.0.1:")
	writeProblem(w, r, http.StatusBadGateway, "nothing answered on port "+port+" inside the sandbox: start a server listening on 127.0.0.1:"+port+
		" or 0.0.0.0:"+port+" there ("+codepod.ErrorMessage(err)+")")
}

// writeCodeProblem writes err as a problem document with its code's status.
func writeCodeProblem(w http.ResponseWriter, r *http.Request, err error) {
	status, ok := codeStatus[codepod.ErrorCode(err)]
	if !ok {
		logger(r.Context()).Error("preview request failed", "err", err)
		writeProblem(w, r, http.StatusInternalServerError, internalDetail)
		return
	}
	writeProblem(w, r, status, codepod.ErrorMessage(err))
}

// touchActive records preview traffic (and session starts) as activity of
// sb, at most once per a tenth of its idle timeout.
func (s *Server) touchActive(ctx context.Context, sb *codepod.Sandbox) {
	if sb.Spec.IdleTimeout <= 0 {
		return
	}
	now := s.now()
	s.touchMu.Lock()
	last, ok := s.touched[sb.ID]
	due := !ok || now.Sub(last) >= sb.Spec.IdleTimeout/10
	if due {
		if len(s.touched) > 10000 {
			clear(s.touched)
		}
		s.touched[sb.ID] = now
	}
	s.touchMu.Unlock()
	if due {
		if err := s.ctl.Touch(context.WithoutCancel(ctx), sb); err != nil {
			logger(ctx).Warn("record sandbox activity", "sandbox", sb.ID, "err", err)
		}
	}
}

type touchState struct {
	touchMu sync.Mutex
	touched map[string]time.Time
}
