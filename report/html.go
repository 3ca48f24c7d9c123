package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/moslora/moslora/internal/atomicfile"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// HTMLFile is the optional single-file HTML form of the report.
const HTMLFile = "report.html"

var imgSrc = regexp.MustCompile(`src="([A-Za-z0-9._-]+\.svg)"`)

// WriteHTML renders dir/report.md (GitHub-flavoured Markdown, for its tables) into
// dir/report.html with every SVG figure embedded as a data URI, so the one file is the whole report.
func WriteHTML(dir string) error {
	md, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var body bytes.Buffer
	if err := goldmark.New(goldmark.WithExtensions(extension.GFM)).Convert(md, &body); err != nil {
		return fmt.Errorf("report: rendering %s: %w", File, err)
	}
	var ferr error
	html := imgSrc.ReplaceAllFunc(body.Bytes(), func(m []byte) []byte {
		name := string(imgSrc.FindSubmatch(m)[1])
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			ferr = fmt.Errorf("report: embedding %s: %w", name, err)
			return m
		}
		return []byte(`src="data:image/svg+xml;base64,` + base64.StdEncoding.EncodeToString(b) + `"`)
	})
	if ferr != nil {
		return ferr
	}
	var out bytes.Buffer
	out.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sweep report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}td{text-align:right}
img{max-width:100%}code{background:#f4f4f4}</style></head><body>
`)
	out.Write(html)
	out.WriteString("</body></html>\n")
	return atomicfile.WriteFile(filepath.Join(dir, HTMLFile), out.Bytes(), 0o644)
}
