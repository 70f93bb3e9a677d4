// Command kpverify is an independent cross-check of a kpcert ledger, written against the Go
// team's golang.org/x/mod/sumdb/note (C2SP signed notes) and golang.org/x/mod/sumdb/tlog
// (RFC 6962 Merkle trees) packages rather than against kpcert's own Rust code.
//
// Usage:
//
//	kpverify -base https://localhost:PORT -cacert PATH -key 'NAME+HEX8+BASE64'
//	kpverify -selftest
//
// The verifier key is pinned by the caller: kpverify never fetches it from the server.
//
// It verifies the signed checkpoint, downloads every entry the checkpoint covers, recomputes the
// Merkle tree hash with tlog, checks inclusion and consistency proofs served by the log with
// tlog.CheckRecord and tlog.CheckTree (and byte-compares them with tlog's own proofs), and
// makes sure that corrupted proofs are rejected. Before touching the network it runs the
// known-answer tests of the project reference (RFC 6962 / C2SP vectors) through the same
// packages, so a broken toolchain or library cannot pass silently.
//
// On success it prints one line, `kpverify: ok origin=... size=N inclusion=K consistency=L`,
// and exits 0; on failure it prints `kpverify: FAIL <reason>` to stderr and exits 1
// (2 for usage errors).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	pageLimit        = 1000             // most entries the server returns per page
	allIndexesBelow  = 200              // check every inclusion proof when N <= this
	allSizesBelow    = 64               // check every consistency proof when N <= this
	maxBody          = 64 << 20         // largest response body accepted
	maxRetries       = 20               // retries of a rate-limited (429) request
	defaultRetryWait = 1 * time.Second  // wait when a 429 carries no usable Retry-After
	maxRetryWait     = 10 * time.Second // cap on a server-supplied Retry-After
)

// failure is a verification failure: reported as `kpverify: FAIL <reason>`.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

func failf(format string, args ...interface{}) error {
	return &failure{fmt.Sprintf(format, args...)}
}

func main() {
	base := flag.String("base", "", "server base URL, e.g. https://localhost:8443")
	cacert := flag.String("cacert", "", "PEM file: the only trusted root for HTTPS")
	key := flag.String("key", "", "pinned ledger verifier key `name+hex8+base64(0x01||pubkey)`")
	timeout := flag.Duration("timeout", 30*time.Second, "timeout of each HTTP request")
	selftest := flag.Bool("selftest", false, "only run the offline known-answer tests and exit")
	quiet := flag.Bool("q", false, "no progress lines on stderr")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: kpverify -base https://HOST:PORT -cacert PATH -key 'NAME+HEX8+BASE64'\n"+
				"       kpverify -selftest\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		usage("unexpected arguments: %q", flag.Args())
	}

	if err := knownAnswerTests(); err != nil {
		fail(fmt.Errorf("self-test: %v", err))
	}
	if *selftest {
		fmt.Println("kpverify: ok self-test (RFC 6962 and C2SP reference vectors)")
		return
	}
	if *base == "" || *cacert == "" || *key == "" {
		usage("-base, -cacert and -key are required (the verifier key must be pinned by the caller)")
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		usage("-base must be an https:// URL without query, got %q", *base)
	}
	verifier, err := note.NewVerifier(*key)
	if err != nil {
		usage("-key: %v", err)
	}
	client, err := newClient(*cacert, *timeout)
	if err != nil {
		fail(err)
	}
	v := &run{
		base:     strings.TrimRight(*base, "/"),
		client:   client,
		verifier: verifier,
		quiet:    *quiet,
	}
	summary, err := v.verify()
	if err != nil {
		fail(err)
	}
	fmt.Println(summary)
}

func usage(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kpverify: "+format+"\n", args...)
	flag.Usage()
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kpverify: FAIL %v\n", err)
	os.Exit(1)
}

// newClient returns an HTTPS client that trusts only the certificates in the PEM file.
func newClient(cacertPath string, timeout time.Duration) (*http.Client, error) {
	pem, err := os.ReadFile(cacertPath)
	if err != nil {
		return nil, fmt.Errorf("reading -cacert: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-cacert %s holds no PEM certificate", cacertPath)
	}
	transport := &http.Transport{
		Proxy:               nil, // talk to the given server directly, never via $HTTPS_PROXY
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 4,
		TLSHandshakeTimeout: timeout,
	}
	return &http.Client{Transport: transport, Timeout: timeout}, nil
}

// run holds the state of one verification.
type run struct {
	base     string
	client   *http.Client
	verifier note.Verifier
	quiet    bool
	retries  int // requests retried after 429 Too Many Requests

	origin  string
	size    int64
	root    tlog.Hash
	records []tlog.Hash // record (leaf) hash of every entry, by index
	store   hashStore   // tlog stored hashes of the whole tree of size `size`
}

func (r *run) progress(format string, args ...interface{}) {
	if !r.quiet {
		fmt.Fprintf(os.Stderr, "kpverify: "+format+"\n", args...)
	}
}

func (r *run) verify() (string, error) {
	if err := r.checkpoint(); err != nil {
		return "", err
	}
	r.progress("checkpoint verified: origin=%s size=%d root=%s", r.origin, r.size, r.root)
	if r.size == 0 {
		// tlog defines the empty tree hash as all zeros; RFC 6962 defines it as SHA-256("").
		if r.root != tlog.Hash(sha256.Sum256(nil)) {
			return "", failf("empty ledger: checkpoint root %s is not SHA-256(\"\")", r.root)
		}
		return fmt.Sprintf("kpverify: ok origin=%s size=0 inclusion=0 consistency=0", r.origin), nil
	}
	if err := r.entries(); err != nil {
		return "", err
	}
	th, err := tlog.TreeHash(r.size, &r.store)
	if err != nil {
		return "", failf("tlog.TreeHash(%d): %v", r.size, err)
	}
	if th != r.root {
		return "", failf("tree hash of the %d entries is %s, checkpoint root is %s", r.size, th, r.root)
	}
	r.progress("%d entries downloaded; tlog.TreeHash matches the checkpoint root", r.size)
	inclusion, err := r.inclusionProofs()
	if err != nil {
		return "", err
	}
	r.progress("%d inclusion proofs verified", inclusion)
	consistency, err := r.consistencyProofs()
	if err != nil {
		return "", err
	}
	r.progress("%d consistency proofs verified", consistency)
	if r.retries > 0 {
		r.progress("%d requests were rate limited (HTTP 429) and retried", r.retries)
	}
	if err := r.serverRejects(); err != nil {
		return "", err
	}
	return fmt.Sprintf("kpverify: ok origin=%s size=%d inclusion=%d consistency=%d",
		r.origin, r.size, inclusion, consistency), nil
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

func (r *run) checkpoint() error {
	body, ctype, err := r.get("/v1/ledger/checkpoint")
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ctype, "text/plain") {
		return failf("checkpoint: Content-Type %q, want text/plain", ctype)
	}
	n, err := note.Open(body, note.VerifierList(r.verifier))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			var names []string
			for _, s := range unverified.Note.UnverifiedSigs {
				names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return failf("checkpoint carries no signature by the pinned key %s+%08x (signatures by: %s)",
				r.verifier.Name(), r.verifier.KeyHash(), strings.Join(names, ", "))
		}
		return failf("checkpoint: note.Open: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != r.verifier.Name() || n.Sigs[0].Hash != r.verifier.KeyHash() {
		return failf("checkpoint: unexpected verified signatures %+v", n.Sigs)
	}
	origin, size, root, err := parseCheckpoint(n.Text)
	if err != nil {
		return failf("checkpoint: %v", err)
	}
	if origin != r.verifier.Name() {
		// C2SP tlog-checkpoint: the key name should be the origin. Not fatal, but say so.
		r.progress("warning: checkpoint origin %q differs from the key name %q", origin, r.verifier.Name())
	}
	r.origin, r.size, r.root = origin, size, root
	return nil
}

// parseCheckpoint parses a C2SP tlog-checkpoint body: origin, decimal size, base64 root, then
// optional extension lines. The note package has already checked the text is well-formed UTF-8
// ending in a newline.
func parseCheckpoint(text string) (string, int64, tlog.Hash, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", 0, tlog.Hash{}, fmt.Errorf("body has %d lines, want at least 3", len(lines))
	}
	if len(lines) > 3 {
		return "", 0, tlog.Hash{}, fmt.Errorf("body has %d extension lines; kpcert emits none", len(lines)-3)
	}
	origin := lines[0]
	if origin == "" {
		return "", 0, tlog.Hash{}, fmt.Errorf("empty origin line")
	}
	sizeText := lines[1]
	size, err := strconv.ParseInt(sizeText, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sizeText {
		return "", 0, tlog.Hash{}, fmt.Errorf("size line %q is not a canonical non-negative decimal", sizeText)
	}
	root, err := decodeHash(lines[2])
	if err != nil {
		return "", 0, tlog.Hash{}, fmt.Errorf("root line: %v", err)
	}
	return origin, size, root, nil
}

// decodeHash decodes a canonical standard-base64 32-byte hash.
func decodeHash(s string) (tlog.Hash, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("%q is not standard base64: %v", s, err)
	}
	if len(b) != tlog.HashSize {
		return tlog.Hash{}, fmt.Errorf("%q decodes to %d bytes, want %d", s, len(b), tlog.HashSize)
	}
	var h tlog.Hash
	copy(h[:], b)
	return h, nil
}

func decodeHashes(list []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		h, err := decodeHash(s)
		if err != nil {
			return nil, fmt.Errorf("proof[%d]: %v", i, err)
		}
		out[i] = h
	}
	return out, nil
}

// ---------------------------------------------------------------------------------------------
// Entries and the tree

// hashStore is an in-memory tlog.HashReader over the stored hashes, in storage order.
type hashStore struct{ hashes []tlog.Hash }

func (s *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("stored hash index %d not in storage of %d hashes", x, len(s.hashes))
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

type entriesPage struct {
	Start   *int64 `json:"start"`
	Size    *int64 `json:"size"`
	Next    *int64 `json:"next"`
	Entries []struct {
		Index     *int64          `json:"index"`
		Canonical *string         `json:"canonical"`
		Entry     json.RawMessage `json:"entry"`
	} `json:"entries"`
}

// entries downloads entries 0..size-1 and builds the tlog stored hashes.
func (r *run) entries() error {
	r.records = make([]tlog.Hash, 0, r.size)
	r.store.hashes = make([]tlog.Hash, 0, 2*r.size)
	for start := int64(0); start < r.size; {
		limit := r.size - start
		if limit > pageLimit {
			limit = pageLimit
		}
		var page entriesPage
		path := fmt.Sprintf("/v1/ledger/entries?start=%d&limit=%d", start, limit)
		if err := r.getJSON(path, &page); err != nil {
			return err
		}
		if page.Start == nil || page.Size == nil || page.Entries == nil {
			return failf("%s: missing start, size or entries", path)
		}
		if *page.Start != start {
			return failf("%s: start=%d", path, *page.Start)
		}
		if *page.Size < r.size {
			return failf("%s: ledger size %d is smaller than the signed checkpoint size %d", path, *page.Size, r.size)
		}
		got := int64(len(page.Entries))
		if got == 0 || got > limit {
			return failf("%s: %d entries, want 1..%d", path, got, limit)
		}
		end := start + got
		if end < *page.Size {
			if page.Next == nil || *page.Next != end {
				return failf("%s: next=%s, want %d", path, fmtPtr(page.Next), end)
			}
		} else if page.Next != nil {
			return failf("%s: next=%d at the end of the ledger", path, *page.Next)
		}
		for i, e := range page.Entries {
			index := start + int64(i)
			if e.Index == nil || *e.Index != index {
				return failf("%s: entries[%d].index=%s, want %d", path, i, fmtPtr(e.Index), index)
			}
			if e.Canonical == nil {
				return failf("entry %d: no canonical bytes", index)
			}
			data, err := base64.StdEncoding.Strict().DecodeString(*e.Canonical)
			if err != nil {
				return failf("entry %d: canonical is not standard base64: %v", index, err)
			}
			var decoded struct {
				Error *string `json:"error"`
			}
			if err := json.Unmarshal(e.Entry, &decoded); err != nil {
				return failf("entry %d: entry is not a JSON object: %v", index, err)
			}
			if decoded.Error != nil {
				return failf("entry %d: the server cannot decode its own entry: %s", index, *decoded.Error)
			}
			stored, err := tlog.StoredHashes(index, data, &r.store)
			if err != nil {
				return failf("entry %d: tlog.StoredHashes: %v", index, err)
			}
			if tlog.StoredHashIndex(0, index) != int64(len(r.store.hashes)) {
				return failf("entry %d: stored hash index out of step (internal error)", index)
			}
			r.store.hashes = append(r.store.hashes, stored...)
			r.records = append(r.records, tlog.RecordHash(data))
		}
		start = end
	}
	if want := tlog.StoredHashCount(r.size); int64(len(r.store.hashes)) != want {
		return failf("stored %d hashes for %d records, tlog wants %d (internal error)", len(r.store.hashes), r.size, want)
	}
	return nil
}

func fmtPtr(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

// ---------------------------------------------------------------------------------------------
// Proofs

type inclusionResponse struct {
	Index    *int64   `json:"index"`
	Size     *int64   `json:"size"`
	LeafHash *string  `json:"leaf_hash"`
	Proof    []string `json:"proof"`
}

type consistencyResponse struct {
	From  *int64   `json:"from"`
	To    *int64   `json:"to"`
	Proof []string `json:"proof"`
}

// sampleIndexes returns the inclusion indexes to check: 0, N/2, N-1, every index if N is small.
func sampleIndexes(n int64) []int64 {
	if n <= allIndexesBelow {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	return dedup([]int64{0, 1, n / 2, n - 2, n - 1})
}

// sampleSizes returns the old tree sizes M to check consistency from: 1, N/2, N-1, the largest
// power of two below N, and N itself (empty proof); every size if N is small.
func sampleSizes(n int64) []int64 {
	if n <= allSizesBelow {
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i) + 1
		}
		return out
	}
	p := int64(1)
	for p*2 < n {
		p *= 2
	}
	return dedup([]int64{1, 2, 3, p, p + 1, n / 2, n - 1, n})
}

func dedup(xs []int64) []int64 {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	out := xs[:0]
	for i, x := range xs {
		if i == 0 || x != xs[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func reversed(p []tlog.Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[len(p)-1-i] = h
	}
	return out
}

func sameHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// flipped returns a copy of p with one byte of p[j] changed.
func flipped(p []tlog.Hash, j int) []tlog.Hash {
	out := append([]tlog.Hash(nil), p...)
	out[j][j%tlog.HashSize] ^= 0x01
	return out
}

func (r *run) inclusionProofs() (int, error) {
	n, root := r.size, r.root
	count := 0
	for _, i := range sampleIndexes(n) {
		path := fmt.Sprintf("/v1/ledger/proof/inclusion?index=%d&size=%d", i, n)
		var resp inclusionResponse
		if err := r.getJSON(path, &resp); err != nil {
			return 0, err
		}
		if resp.Index == nil || *resp.Index != i || resp.Size == nil || *resp.Size != n ||
			resp.LeafHash == nil || resp.Proof == nil {
			return 0, failf("%s: response does not echo index and size or lacks leaf_hash/proof", path)
		}
		leaf, err := decodeHash(*resp.LeafHash)
		if err != nil {
			return 0, failf("%s: leaf_hash: %v", path, err)
		}
		if leaf != r.records[i] {
			return 0, failf("%s: leaf_hash %s, but SHA-256(0x00||entry %d) is %s", path, leaf, i, r.records[i])
		}
		proof, err := decodeHashes(resp.Proof)
		if err != nil {
			return 0, failf("%s: %v", path, err)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(proof), n, root, i, leaf); err != nil {
			// Diagnose, never repair: would the proof pass in the opposite order?
			if len(proof) > 1 && tlog.CheckRecord(tlog.RecordProof(reversed(proof)), n, root, i, leaf) == nil {
				return 0, failf("%s: proof rejected by tlog.CheckRecord, but accepted when reversed: "+
					"the server sends root-to-leaf order, RFC 9162 and tlog want leaf-to-root", path)
			}
			return 0, failf("%s: tlog.CheckRecord: %v", path, err)
		}
		// Proofs are unique: the server's must equal the one tlog builds from our own tree.
		own, err := tlog.ProveRecord(n, i, &r.store)
		if err != nil {
			return 0, failf("tlog.ProveRecord(%d, %d): %v", n, i, err)
		}
		if !sameHashes(own, proof) {
			return 0, failf("%s: proof verifies but differs from tlog.ProveRecord", path)
		}
		// Negative self-checks: corrupted proofs must be rejected.
		for j := range proof {
			if tlog.CheckRecord(tlog.RecordProof(flipped(proof, j)), n, root, i, leaf) == nil {
				return 0, failf("index %d: tlog.CheckRecord accepted a proof with hash %d corrupted", i, j)
			}
		}
		badLeaf := leaf
		badLeaf[0] ^= 0x80
		if tlog.CheckRecord(tlog.RecordProof(proof), n, root, i, badLeaf) == nil {
			return 0, failf("index %d: tlog.CheckRecord accepted a corrupted leaf hash", i)
		}
		if tlog.CheckRecord(tlog.RecordProof(append(append([]tlog.Hash(nil), proof...), root)), n, root, i, leaf) == nil {
			return 0, failf("index %d: tlog.CheckRecord accepted a proof with an extra hash", i)
		}
		if len(proof) > 0 && tlog.CheckRecord(tlog.RecordProof(proof[:len(proof)-1]), n, root, i, leaf) == nil {
			return 0, failf("index %d: tlog.CheckRecord accepted a truncated proof", i)
		}
		if len(proof) > 1 && !sameHashes(proof, reversed(proof)) &&
			tlog.CheckRecord(tlog.RecordProof(reversed(proof)), n, root, i, leaf) == nil {
			return 0, failf("index %d: tlog.CheckRecord accepted the proof reversed", i)
		}
		count++
	}
	return count, nil
}

func (r *run) consistencyProofs() (int, error) {
	n, root := r.size, r.root
	count := 0
	for _, m := range sampleSizes(n) {
		oldRoot, err := tlog.TreeHash(m, &r.store)
		if err != nil {
			return 0, failf("tlog.TreeHash(%d): %v", m, err)
		}
		path := fmt.Sprintf("/v1/ledger/proof/consistency?from=%d&to=%d", m, n)
		var resp consistencyResponse
		if err := r.getJSON(path, &resp); err != nil {
			return 0, err
		}
		if resp.From == nil || *resp.From != m || resp.To == nil || *resp.To != n || resp.Proof == nil {
			return 0, failf("%s: response does not echo from and to or lacks proof", path)
		}
		proof, err := decodeHashes(resp.Proof)
		if err != nil {
			return 0, failf("%s: %v", path, err)
		}
		if err := tlog.CheckTree(tlog.TreeProof(proof), n, root, m, oldRoot); err != nil {
			if len(proof) > 1 && tlog.CheckTree(tlog.TreeProof(reversed(proof)), n, root, m, oldRoot) == nil {
				return 0, failf("%s: proof rejected by tlog.CheckTree, but accepted when reversed: "+
					"the server's order differs from RFC 9162 / tlog", path)
			}
			return 0, failf("%s: tlog.CheckTree: %v", path, err)
		}
		own, err := tlog.ProveTree(n, m, &r.store)
		if err != nil {
			return 0, failf("tlog.ProveTree(%d, %d): %v", n, m, err)
		}
		if !sameHashes(own, proof) {
			return 0, failf("%s: proof verifies but differs from tlog.ProveTree", path)
		}
		for j := range proof {
			if tlog.CheckTree(tlog.TreeProof(flipped(proof, j)), n, root, m, oldRoot) == nil {
				return 0, failf("consistency %d->%d: tlog.CheckTree accepted a proof with hash %d corrupted", m, n, j)
			}
		}
		badOld := oldRoot
		badOld[31] ^= 0x01
		if tlog.CheckTree(tlog.TreeProof(proof), n, root, m, badOld) == nil {
			return 0, failf("consistency %d->%d: tlog.CheckTree accepted a corrupted old root", m, n)
		}
		if tlog.CheckTree(tlog.TreeProof(append(append([]tlog.Hash(nil), proof...), root)), n, root, m, oldRoot) == nil {
			return 0, failf("consistency %d->%d: tlog.CheckTree accepted a proof with an extra hash", m, n)
		}
		if len(proof) > 0 && tlog.CheckTree(tlog.TreeProof(proof[:len(proof)-1]), n, root, m, oldRoot) == nil {
			return 0, failf("consistency %d->%d: tlog.CheckTree accepted a truncated proof", m, n)
		}
		count++
	}
	return count, nil
}

// serverRejects checks that the server refuses out-of-range proof requests (RFC 9162 edge cases)
// instead of answering them with something a careless client might accept.
func (r *run) serverRejects() error {
	n := r.size
	for _, path := range []string{
		fmt.Sprintf("/v1/ledger/proof/inclusion?index=%d&size=%d", n, n),
		fmt.Sprintf("/v1/ledger/proof/consistency?from=0&to=%d", n),
		fmt.Sprintf("/v1/ledger/proof/consistency?from=%d&to=%d", n, n-1),
	} {
		status, err := r.status(path)
		if err != nil {
			return err
		}
		if status != http.StatusBadRequest {
			return failf("%s: HTTP %d, want 400", path, status)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// HTTP

// do performs a GET, retrying while the server answers 429 Too Many Requests.
func (r *run) do(path string) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodGet, r.base+path, nil)
		if err != nil {
			return nil, nil, failf("GET %s: %v", path, err)
		}
		req.Header.Set("User-Agent", "kpverify (golang.org/x/mod/sumdb cross-check)")
		resp, err := r.client.Do(req)
		if err != nil {
			return nil, nil, failf("GET %s: %v", path, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return nil, nil, failf("GET %s: reading body: %v", path, err)
		}
		if len(body) > maxBody {
			return nil, nil, failf("GET %s: body larger than %d bytes", path, maxBody)
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < maxRetries {
			wait := defaultRetryWait
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
				if wait > maxRetryWait {
					wait = maxRetryWait
				}
			}
			r.retries++
			time.Sleep(wait)
			continue
		}
		return resp, body, nil
	}
}

func (r *run) get(path string) ([]byte, string, error) {
	resp, body, err := r.do(path)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", failf("GET %s: HTTP %d: %s", path, resp.StatusCode, bytes.TrimSpace(truncate(body, 300)))
	}
	return body, resp.Header.Get("Content-Type"), nil
}

func (r *run) status(path string) (int, error) {
	resp, _, err := r.do(path)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func (r *run) getJSON(path string, v interface{}) error {
	body, ctype, err := r.get(path)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ctype, "application/json") {
		return failf("GET %s: Content-Type %q, want application/json", path, ctype)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return failf("GET %s: bad JSON: %v", path, err)
	}
	if dec.More() {
		return failf("GET %s: trailing data after the JSON value", path)
	}
	return nil
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ---------------------------------------------------------------------------------------------
// Known-answer tests (REFERENCE.md sections 1 and 2), run offline through the same packages.

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func hexHash(s string) tlog.Hash {
	var h tlog.Hash
	if copy(h[:], mustHex(s)) != tlog.HashSize {
		panic("bad test vector " + s)
	}
	return h
}

func hexHashes(list ...string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		out[i] = hexHash(s)
	}
	return out
}

const (
	katKeyName  = "example.com/kimberley-test"
	katVerifier = "example.com/kimberley-test+974999ad+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea"
	katNote8    = "example.com/kimberley-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n" +
		"\u2014 example.com/kimberley-test l0mZrSBRJ3ja/KAlx2iy/vzAOSbEX4Wk0xoAzqsKAj7kGrjSEPyx9czOkAV3RFPIzLxcDW2lnYXUWUEqgtIzeJbEvwY=\n"
	katNote0 = "example.com/kimberley-test\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n" +
		"\u2014 example.com/kimberley-test l0mZrSxiirESajLsSZ3MxGyswt5ONydguOvGXVkNRDs7Zcn4F7ZobIMj/IYHOQP0m+k6rQz6tU4e0IQ+FFjKyO+fbg4=\n"
)

func knownAnswerTests() error {
	leaves := []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
		"606162636465666768696a6b6c6d6e6f"}
	roots := hexHashes(
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	)
	var store hashStore
	for i, l := range leaves {
		stored, err := tlog.StoredHashes(int64(i), mustHex(l), &store)
		if err != nil {
			return err
		}
		store.hashes = append(store.hashes, stored...)
	}
	for m := int64(1); m <= 8; m++ {
		h, err := tlog.TreeHash(m, &store)
		if err != nil {
			return err
		}
		if h != roots[m-1] {
			return fmt.Errorf("tree hash of size %d is %x, want %x", m, h[:], roots[m-1][:])
		}
	}
	if got := tlog.RecordHash(mustHex(leaves[5])); got != hexHash("4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658") {
		return fmt.Errorf("leaf hash 5 is %x", got[:])
	}

	// Inclusion: the reference lists hashes leaf to root (RFC 9162); tlog must produce and
	// accept exactly that order.
	for _, c := range []struct {
		index int64
		proof []tlog.Hash
	}{
		{5, hexHashes("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")},
		{0, hexHashes("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")},
	} {
		leaf := tlog.RecordHash(mustHex(leaves[c.index]))
		if err := tlog.CheckRecord(tlog.RecordProof(c.proof), 8, roots[7], c.index, leaf); err != nil {
			return fmt.Errorf("inclusion of %d in 8: %v", c.index, err)
		}
		own, err := tlog.ProveRecord(8, c.index, &store)
		if err != nil {
			return err
		}
		if !sameHashes(own, c.proof) {
			return fmt.Errorf("tlog.ProveRecord(8, %d) differs from the reference (order?)", c.index)
		}
		if tlog.CheckRecord(tlog.RecordProof(reversed(c.proof)), 8, roots[7], c.index, leaf) == nil {
			return fmt.Errorf("inclusion of %d in 8 accepted in reversed order", c.index)
		}
		if tlog.CheckRecord(tlog.RecordProof(flipped(c.proof, 1)), 8, roots[7], c.index, leaf) == nil {
			return fmt.Errorf("inclusion of %d in 8 accepted with a corrupted hash", c.index)
		}
	}

	// Consistency.
	for _, c := range []struct {
		from, to int64
		proof    []tlog.Hash
	}{
		{6, 8, hexHashes("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")},
		{4, 7, hexHashes("837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")},
		{3, 7, hexHashes("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
			"07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
			"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
			"837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")},
	} {
		oldRoot, newRoot := roots[c.from-1], roots[c.to-1]
		if err := tlog.CheckTree(tlog.TreeProof(c.proof), c.to, newRoot, c.from, oldRoot); err != nil {
			return fmt.Errorf("consistency %d->%d: %v", c.from, c.to, err)
		}
		own, err := tlog.ProveTree(c.to, c.from, &store)
		if err != nil {
			return err
		}
		if !sameHashes(own, c.proof) {
			return fmt.Errorf("tlog.ProveTree(%d, %d) differs from the reference (order?)", c.to, c.from)
		}
		for j := range c.proof {
			if tlog.CheckTree(tlog.TreeProof(flipped(c.proof, j)), c.to, newRoot, c.from, oldRoot) == nil {
				return fmt.Errorf("consistency %d->%d accepted with hash %d corrupted", c.from, c.to, j)
			}
		}
	}
	if tlog.CheckTree(nil, 8, roots[7], 8, roots[7]) != nil {
		return fmt.Errorf("consistency 8->8 with an empty proof rejected")
	}
	if tlog.CheckTree(tlog.TreeProof{roots[7]}, 8, roots[7], 8, roots[7]) == nil {
		return fmt.Errorf("consistency 8->8 with a non-empty proof accepted")
	}
	if tlog.CheckRecord(nil, 8, roots[7], 8, roots[7]) == nil {
		return fmt.Errorf("inclusion with index == size accepted")
	}

	// Signed notes: the reference checkpoints must verify with the reference key, and a
	// one-character change must not.
	v, err := note.NewVerifier(katVerifier)
	if err != nil {
		return fmt.Errorf("note.NewVerifier(reference key): %v", err)
	}
	if v.Name() != katKeyName || v.KeyHash() != 0x974999ad {
		return fmt.Errorf("reference verifier parsed as %s+%08x", v.Name(), v.KeyHash())
	}
	for _, c := range []struct {
		msg  string
		size int64
		root tlog.Hash
	}{
		{katNote8, 8, roots[7]},
		{katNote0, 0, tlog.Hash(sha256.Sum256(nil))},
	} {
		n, err := note.Open([]byte(c.msg), note.VerifierList(v))
		if err != nil {
			return fmt.Errorf("reference checkpoint of size %d: %v", c.size, err)
		}
		origin, size, root, err := parseCheckpoint(n.Text)
		if err != nil || origin != katKeyName || size != c.size || root != c.root {
			return fmt.Errorf("reference checkpoint of size %d parsed as %q %d %x %v", c.size, origin, size, root[:], err)
		}
	}
	tampered := strings.Replace(katNote8, "\n8\n", "\n9\n", 1)
	if _, err := note.Open([]byte(tampered), note.VerifierList(v)); err == nil {
		return fmt.Errorf("tampered reference checkpoint accepted")
	}
	// The same public key under another name has another key id: the note must not verify.
	pub, err := base64.StdEncoding.DecodeString(strings.SplitN(katVerifier, "+", 3)[2])
	if err != nil || len(pub) != 1+ed25519.PublicKeySize || pub[0] != 0x01 {
		return fmt.Errorf("reference verifier key does not hold an ed25519 key")
	}
	otherKey, err := note.NewEd25519VerifierKey("example.com/other", ed25519.PublicKey(pub[1:]))
	if err != nil {
		return err
	}
	if otherKey == katVerifier || strings.Replace(otherKey, "example.com/other", katKeyName, 1) == katVerifier {
		return fmt.Errorf("key id does not depend on the key name")
	}
	other, err := note.NewVerifier(otherKey)
	if err != nil {
		return err
	}
	if _, err := note.Open([]byte(katNote8), note.VerifierList(other)); err == nil {
		return fmt.Errorf("reference checkpoint accepted by a key of another name")
	}
	// Rebuilding the reference verifier key from its public key must give the same string.
	if again, err := note.NewEd25519VerifierKey(katKeyName, ed25519.PublicKey(pub[1:])); err != nil || again != katVerifier {
		return fmt.Errorf("note.NewEd25519VerifierKey gives %q, want %q (%v)", again, katVerifier, err)
	}
	return nil
}
