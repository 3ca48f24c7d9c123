package hub

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"regexp"
	"strconv"
)

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	sha1Hex   = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// digest is the checksum an ETag promises: an LFS file's ETag (X-Linked-Etag) is the sha-256 of
// its bytes; a file stored in git has as ETag its git blob id, sha-1("blob <size>\x00" + bytes).
// An ETag of neither shape (a mirror's own) promises nothing checkable.
type digest struct {
	name string // "SHA-256" or "git SHA-1"; "" when the ETag is not checkable
	h    hash.Hash
	want string
}

func newDigest(etag string, size int64) *digest {
	switch {
	case sha256Hex.MatchString(etag):
		return &digest{name: "SHA-256", h: sha256.New(), want: etag}
	case sha1Hex.MatchString(etag) && size >= 0:
		h := sha1.New()
		h.Write([]byte("blob " + strconv.FormatInt(size, 10) + "\x00"))
		return &digest{name: "git SHA-1", h: h, want: etag}
	}
	return &digest{}
}

// reset forgets the bytes hashed so far (the server ignored a Range and sends the whole file).
func (d *digest) reset(size int64) { *d = *newDigest(d.want, size) }

func (d *digest) Write(p []byte) (int, error) {
	if d.h != nil {
		d.h.Write(p)
	}
	return len(p), nil
}

// check returns the hex digest of the bytes seen and whether it is the promised one.
func (d *digest) check() (got string, ok bool) {
	if d.h == nil {
		return "", true
	}
	got = hex.EncodeToString(d.h.Sum(nil))
	return got, got == d.want
}
