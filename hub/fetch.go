package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fetchBlob makes blobs/<etag> hold the file m describes, downloading what is missing. It returns
// the bytes transferred (0 when the blob was already there).
//
//	lock .locks/…/<etag>.lock  →  blob there? done
//	blobs/<etag>.incomplete holds n bytes  →  GET with Range: bytes=n-  (hash those n bytes first)
//	206: append · 200: the server ignored Range, start over · 416: the file was already whole
//	body cut off  →  keep .incomplete, fail (the next call resumes)
//	size or checksum wrong  →  delete .incomplete, fail (nothing reaches blobs/ or the snapshot)
//	rename .incomplete → blobs/<etag>
func (d *downloader) fetchBlob(ctx context.Context, m *fileMeta, file string) (int64, error) {
	blob := d.cache.blob(m.ETag)
	if exists(blob) {
		return 0, nil
	}
	lk, err := acquireLock(ctx, d.cache.lock(m.ETag))
	if err != nil {
		return 0, err
	}
	defer lk.release()
	if exists(blob) { // another process finished it while this one waited
		return 0, nil
	}
	inc := blob + ".incomplete"
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	f, err := os.OpenFile(inc, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("hub: %w", err)
	}
	if m.Size >= 0 && have > m.Size { // not a prefix of this file: start over
		if err := truncate(f); err != nil {
			return 0, err
		}
		have = 0
	}
	sum := newDigest(m.ETag, m.Size)
	if have > 0 {
		if _, err := io.Copy(sum, io.NewSectionReader(f, 0, have)); err != nil {
			return 0, fmt.Errorf("hub: reading %s: %w", inc, err)
		}
	}

	var got int64
	if m.Size < 0 || have < m.Size {
		got, err = d.download(ctx, m, file, f, sum, have)
		if err != nil {
			return got, err
		}
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return got, fmt.Errorf("hub: %w", err)
	}
	bad := ""
	if m.Size >= 0 && size != m.Size {
		bad = fmt.Sprintf("it has %d bytes, the hub says %d", size, m.Size)
	} else if hex, ok := sum.check(); !ok {
		bad = fmt.Sprintf("its %s is %s, the hub's ETag says %s", sum.name, hex, sum.want)
	}
	if bad != "" {
		f.Close()
		f = nil
		os.Remove(inc)
		return got, errorf(ErrCorrupt, "hub: %s of %s: %s; the download was deleted and nothing was placed in the cache snapshot",
			file, d.name.Repo, bad)
	}
	if err := f.Sync(); err != nil {
		return got, fmt.Errorf("hub: %w", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return got, fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(inc, blob); err != nil {
		return got, fmt.Errorf("hub: placing %s: %w", blob, err)
	}
	return got, nil
}

// download appends the file's bytes from offset have to f (and sum), sending Range when resuming.
func (d *downloader) download(ctx context.Context, m *fileMeta, file string, f *os.File, sum *digest, have int64) (int64, error) {
	for attempt := 0; ; attempt++ {
		req, err := d.client.newRequest(ctx, http.MethodGet, m.URL, m.Auth)
		if err != nil {
			return 0, err
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := d.client.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("hub: downloading %s of %s: %w (run again to resume)", file, d.name.Repo, err)
		}
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
			if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != have {
				resp.Body.Close()
				return 0, fmt.Errorf("hub: downloading %s: asked for bytes from %d, got Content-Range %q", file, have, resp.Header.Get("Content-Range"))
			}
		case resp.StatusCode == http.StatusOK:
			if have > 0 { // the server ignored Range: take the whole body
				if err := truncate(f); err != nil {
					resp.Body.Close()
					return 0, err
				}
				have = 0
				sum.reset(m.Size)
			}
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && attempt == 0 && have > 0:
			// .incomplete is not a prefix the server recognises: start over once
			resp.Body.Close()
			if err := truncate(f); err != nil {
				return 0, err
			}
			have = 0
			sum.reset(m.Size)
			continue
		default:
			defer resp.Body.Close()
			return 0, d.client.statusError(resp, d.name, file)
		}
		total := m.Size
		if total < 0 && resp.ContentLength >= 0 {
			total = have + resp.ContentLength
		}
		bar := d.progress.start(file, total, have)
		n, err := io.Copy(io.MultiWriter(f, sum, bar), resp.Body)
		resp.Body.Close()
		bar.finish(err)
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return n, fmt.Errorf("hub: download of %s of %s stopped after %d of %s bytes (%v); the %d bytes are kept in %s and the next run resumes from there",
				file, d.name.Repo, have+n, sizeString(total), err, have+n, d.cache.blob(m.ETag)+".incomplete")
		}
		return n, nil
	}
}

// rangeStart reads the first byte position of a Content-Range "bytes a-b/n".
func rangeStart(cr string) (int64, bool) {
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

func truncate(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func sizeString(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}
