package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/moslora/moslora/internal/jsonerr"
	"io"
	"os"
	"path/filepath"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Load reads a tokenizer. path is a model folder holding tokenizer.json (or tokenizer.json.gz) and
// optionally tokenizer_config.json(.gz), or a tokenizer.json file itself (gzip accepted), in which
// case a tokenizer_config.json(.gz) beside it is read too.
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	dir, file := path, ""
	if st.IsDir() {
		file = firstExisting(filepath.Join(path, "tokenizer.json"), filepath.Join(path, "tokenizer.json.gz"))
		if file == "" {
			return nil, fmt.Errorf("tokenizer: %s: no tokenizer.json (or tokenizer.json.gz) in the folder", path)
		}
	} else {
		dir, file = filepath.Dir(path), path
	}
	data, err := readMaybeGzip(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var cfg []byte
	cfgFile := firstExisting(filepath.Join(dir, "tokenizer_config.json"), filepath.Join(dir, "tokenizer_config.json.gz"))
	if cfgFile != "" {
		if cfg, err = readMaybeGzip(cfgFile); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	return build(file, data, cfgFile, cfg)
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// readMaybeGzip reads a file, decompressing it when it starts with the gzip magic bytes.
func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return data, nil
}

// The JSON shapes of tokenizer.json.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	Model         *modelJSON       `json:"model"` // decoded in place: it is most of the file
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
}

type addedTokenJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Vocab                   map[string]int32 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Dropout                 *float64         `json:"dropout"`
}

// componentJSON holds the fields of every normalizer, pre-tokenizer, post-processor and decoder
// this package supports; Type says which apply.
type componentJSON struct {
	Type string `json:"type"`

	Normalizers   []json.RawMessage `json:"normalizers"`
	Pretokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	Decoders      []json.RawMessage `json:"decoders"`

	Prepend    string       `json:"prepend"`     // Prepend
	Pattern    *patternJSON `json:"pattern"`     // Replace, Split
	Content    string       `json:"content"`     // Replace, Strip decoder
	StripLeft  bool         `json:"strip_left"`  // Strip normalizer
	StripRight bool         `json:"strip_right"` // Strip normalizer
	Start      int          `json:"start"`       // Strip decoder
	Stop       int          `json:"stop"`        // Strip decoder

	AddPrefixSpace *bool  `json:"add_prefix_space"` // ByteLevel, Metaspace (legacy)
	UseRegex       *bool  `json:"use_regex"`        // ByteLevel
	Behavior       string `json:"behavior"`         // Split
	Invert         bool   `json:"invert"`           // Split
	Replacement    string `json:"replacement"`      // Metaspace
	PrependScheme  string `json:"prepend_scheme"`   // Metaspace
	Split          *bool  `json:"split"`            // Metaspace
	Individual     bool   `json:"individual_digits"`

	Single        []map[string]templateRefJSON `json:"single"`         // TemplateProcessing
	SpecialTokens map[string]templateTokenJSON `json:"special_tokens"` // TemplateProcessing
	Sep           []json.RawMessage            `json:"sep"`            // Bert/RobertaProcessing: [token, id]
	Cls           []json.RawMessage            `json:"cls"`
}

type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type templateRefJSON struct {
	ID string `json:"id"`
}

type templateTokenJSON struct {
	IDs    []int32  `json:"ids"`
	Tokens []string `json:"tokens"`
}

// isNull reports whether a raw JSON value is absent or null.
func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

// build assembles a Tokenizer from the bytes of tokenizer.json (file names are for messages).
func build(file string, data []byte, cfgFile string, cfg []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %s", file, jsonerr.Describe(err))
	}
	errf := func(key string, err error) error { return fmt.Errorf("tokenizer: %s: %s: %w", file, key, err) }
	t := &Tokenizer{source: file, bos: -1, eos: -1, pad: -1}
	var err error

	if !isNull(f.Normalizer) {
		if t.normalizer, err = parseNormalizer(f.Normalizer); err != nil {
			return nil, errf("normalizer", err)
		}
	}
	if !isNull(f.PreTokenizer) {
		if t.pre, err = parsePreTokenizer(f.PreTokenizer); err != nil {
			return nil, errf("pre_tokenizer", err)
		}
	}
	if f.Model == nil {
		return nil, errf("model", errors.New("missing; expected a BPE model"))
	}
	if t.model, err = parseModel(f.Model); err != nil {
		return nil, errf("model", err)
	}
	// Byte-level tokenizers whose last pre-tokenizer is ByteLevel let the model read raw bytes.
	if bl := lastByteLevel(&t.pre); bl != nil && t.model.enableRaw() {
		bl.deferMap = true
	}
	if !isNull(f.Decoder) {
		if t.decoder, err = parseDecoder(f.Decoder); err != nil {
			return nil, errf("decoder", err)
		}
	}

	// Added tokens.
	t.added = make(map[int32]*addedToken, len(f.AddedTokens))
	t.addedIDs = make(map[string]int32, len(f.AddedTokens))
	t.special = make(map[string]bool)
	var rawPat, normPat []string
	var rawTok, normTok []*addedToken
	for i, a := range f.AddedTokens {
		if a.ID < 0 || a.Content == "" {
			return nil, errf(fmt.Sprintf("added_tokens[%d]", i), fmt.Errorf("id %d content %q: expected a non-negative id and non-empty content", a.ID, a.Content))
		}
		tok := &addedToken{id: a.ID, content: a.Content, singleWord: a.SingleWord, lstrip: a.Lstrip, rstrip: a.Rstrip,
			normalized: a.Normalized, special: a.Special}
		t.added[a.ID] = tok
		t.addedIDs[a.Content] = a.ID
		if a.Special {
			t.special[a.Content] = true
		}
		if a.Normalized {
			pat := a.Content
			if t.normalizer != nil {
				pat = t.normalizer.normalize(pat)
			}
			normPat, normTok = append(normPat, pat), append(normTok, tok)
		} else {
			rawPat, rawTok = append(rawPat, a.Content), append(rawTok, tok)
		}
	}
	// tokenizers matches special tokens before the others when both could match at one place;
	// the trie keeps the first pattern given for a string, so list specials first.
	t.addedRaw = newAddedMatcher(specialFirst(rawPat, rawTok))
	t.addedNorm = newAddedMatcher(specialFirst(normPat, normTok))

	t.vocabSize = len(t.model.vocabR)
	for id := range t.added {
		t.vocabSize = max(t.vocabSize, int(id)+1)
	}

	if !isNull(f.PostProcessor) {
		if t.postPrefix, t.postSuffix, err = parsePostProcessor(f.PostProcessor); err != nil {
			return nil, errf("post_processor", err)
		}
	}
	if err := t.readConfig(cfgFile, cfg); err != nil {
		return nil, err
	}
	return t, nil
}

func specialFirst(pats []string, toks []*addedToken) ([]string, []*addedToken) {
	var p []string
	var tk []*addedToken
	for pass := 0; pass < 2; pass++ {
		for i, tok := range toks {
			if tok.special == (pass == 0) {
				p, tk = append(p, pats[i]), append(tk, tok)
			}
		}
	}
	return p, tk
}

// lastByteLevel returns the ByteLevel pre-tokenizer that runs last, if one does.
func lastByteLevel(p *preTokenizer) *byteLevelPreTokenizer {
	switch v := (*p).(type) {
	case *byteLevelPreTokenizer:
		return v
	case preTokenizerSequence:
		if len(v) > 0 {
			return lastByteLevel(&v[len(v)-1])
		}
	}
	return nil
}

func unmarshalComponent(raw json.RawMessage) (componentJSON, error) {
	var c componentJSON
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, errors.New(jsonerr.Describe(err))
	}
	return c, nil
}

func parsePattern(p *patternJSON) (splitter, error) {
	switch {
	case p == nil:
		return nil, errors.New(`missing "pattern"; expected {"String": ...} or {"Regex": ...}`)
	case p.String != nil:
		return stringSplitter{*p.String}, nil
	case p.Regex != nil:
		return newRegexSplitter(*p.Regex)
	}
	return nil, errors.New(`"pattern": expected {"String": ...} or {"Regex": ...}`)
}

// parseEach parses every element of the JSON list key with parse; an error names key[i].
func parseEach[T any](key string, raws []json.RawMessage, parse func(json.RawMessage) (T, error)) ([]T, error) {
	var q []T
	for i, r := range raws {
		v, err := parse(r)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		q = append(q, v)
	}
	return q, nil
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	c, err := unmarshalComponent(raw)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		q, err := parseEach("normalizers", c.Normalizers, parseNormalizer)
		if err != nil {
			return nil, err
		}
		return normalizerSequence(q), nil
	case "Prepend":
		return prependNormalizer{c.Prepend}, nil
	case "Replace":
		p, err := parsePattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return replaceNormalizer{p, c.Content}, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	case "Strip":
		return stripNormalizer{c.StripLeft, c.StripRight}, nil
	}
	return nil, fmt.Errorf("unsupported normalizer %q (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase, Strip)", c.Type)
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// singleRune returns the one rune of s.
func singleRune(key, s string) (rune, error) {
	r, w := utf8.DecodeRuneInString(s)
	if w == 0 || w != len(s) {
		return 0, fmt.Errorf("%q = %q: expected exactly one character", key, s)
	}
	return r, nil
}

// metaspacePrepend returns prepend_scheme, derived from the legacy add_prefix_space when absent.
func metaspacePrepend(c componentJSON) (string, error) {
	switch c.PrependScheme {
	case "always", "first", "never":
		return c.PrependScheme, nil
	case "":
		if boolOr(c.AddPrefixSpace, true) {
			return "always", nil
		}
		return "never", nil
	}
	return "", fmt.Errorf("prepend_scheme %q: expected always, first or never", c.PrependScheme)
}

func parsePreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	c, err := unmarshalComponent(raw)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		q, err := parseEach("pretokenizers", c.Pretokenizers, parsePreTokenizer)
		if err != nil {
			return nil, err
		}
		return preTokenizerSequence(q), nil
	case "ByteLevel":
		return &byteLevelPreTokenizer{addPrefixSpace: boolOr(c.AddPrefixSpace, true), useRegex: boolOr(c.UseRegex, true)}, nil
	case "Split":
		p, err := parsePattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("Split: %w", err)
		}
		b, ok := splitBehaviors[c.Behavior]
		if !ok {
			return nil, fmt.Errorf("Split: behavior %q: expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous", c.Behavior)
		}
		return splitPreTokenizer{pattern: p, behavior: b, invert: c.Invert}, nil
	case "Metaspace":
		r, err := singleRune("replacement", c.Replacement)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		prepend, err := metaspacePrepend(c)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		return newMetaspacePreTokenizer(r, prepend, boolOr(c.Split, true)), nil
	case "Digits":
		return digitsPreTokenizer{c.Individual}, nil
	case "WhitespaceSplit":
		return whitespaceSplitPreTokenizer{}, nil
	}
	return nil, fmt.Errorf("unsupported pre-tokenizer %q (supported: Sequence, ByteLevel, Split, Metaspace, Digits, WhitespaceSplit)", c.Type)
}

func parseModel(m *modelJSON) (*bpe, error) {
	if m.Type == "" && m.Merges != nil {
		m.Type = "BPE" // files from before the type field
	}
	if m.Type != "BPE" {
		return nil, fmt.Errorf("unsupported model %q (supported: BPE)", m.Type)
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, fmt.Errorf("dropout %g: BPE dropout is not supported (expected null or 0)", *m.Dropout)
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return newBPE(m.Vocab, merges, str(m.UnkToken), str(m.ContinuingSubwordPrefix), str(m.EndOfWordSuffix),
		m.FuseUnk, m.ByteFallback, m.IgnoreMerges)
}

// parseMerges reads merges as "left right" strings or as [left, right] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, nil
	}
	inner := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("[")))
	if len(inner) > 0 && inner[0] == '[' {
		var pairs [][2]string
		if err := json.Unmarshal(raw, &pairs); err != nil {
			return nil, fmt.Errorf("expected [left, right] pairs: %s", jsonerr.Describe(err))
		}
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, fmt.Errorf(`expected "left right" strings or [left, right] pairs: %s`, jsonerr.Describe(err))
	}
	pairs := make([][2]string, len(lines))
	for i, l := range lines {
		k := bytes.IndexByte([]byte(l), ' ')
		if k < 0 {
			return nil, fmt.Errorf("[%d] %q: expected two tokens separated by a space", i, l)
		}
		pairs[i] = [2]string{l[:k], l[k+1:]}
	}
	return pairs, nil
}

func parseDecoder(raw json.RawMessage) (decoder, error) {
	c, err := unmarshalComponent(raw)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		q, err := parseEach("decoders", c.Decoders, parseDecoder)
		if err != nil {
			return nil, err
		}
		return decoderSequence(q), nil
	case "ByteLevel":
		return byteLevelDecoder{}, nil
	case "Metaspace":
		r, err := singleRune("replacement", c.Replacement)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		prepend, err := metaspacePrepend(c)
		if err != nil {
			return nil, fmt.Errorf("Metaspace: %w", err)
		}
		return metaspaceDecoder{r, prepend}, nil
	case "Replace":
		p, err := parsePattern(c.Pattern)
		if err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		return replaceDecoder{p, c.Content}, nil
	case "ByteFallback":
		return byteFallbackDecoder{}, nil
	case "Fuse":
		return fuseDecoder{}, nil
	case "Strip":
		r, err := singleRune("content", c.Content)
		if err != nil {
			return nil, fmt.Errorf("Strip: %w", err)
		}
		return stripDecoder{r, c.Start, c.Stop}, nil
	}
	return nil, fmt.Errorf("unsupported decoder %q (supported: Sequence, ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip)", c.Type)
}

// parsePostProcessor returns what the post-processor adds before and after a single sequence.
func parsePostProcessor(raw json.RawMessage) (prefix, suffix []specialPiece, err error) {
	c, err := unmarshalComponent(raw)
	if err != nil {
		return nil, nil, err
	}
	switch c.Type {
	case "ByteLevel":
		return nil, nil, nil // it only trims offsets
	case "Sequence":
		for i, r := range c.Processors {
			p, s, err := parsePostProcessor(r)
			if err != nil {
				return nil, nil, fmt.Errorf("processors[%d]: %w", i, err)
			}
			// Each processor wraps the result of the previous one.
			prefix = append(append([]specialPiece(nil), p...), prefix...)
			suffix = append(suffix, s...)
		}
		return prefix, suffix, nil
	case "TemplateProcessing":
		seenA := false
		for i, item := range c.Single {
			if ref, ok := item["Sequence"]; ok {
				if ref.ID != "A" || seenA {
					return nil, nil, fmt.Errorf("single[%d]: sequence %q: expected one sequence A", i, ref.ID)
				}
				seenA = true
				continue
			}
			ref, ok := item["SpecialToken"]
			if !ok {
				return nil, nil, fmt.Errorf("single[%d]: expected SpecialToken or Sequence", i)
			}
			st, ok := c.SpecialTokens[ref.ID]
			if !ok || len(st.IDs) != len(st.Tokens) {
				return nil, nil, fmt.Errorf("single[%d]: special token %q missing from special_tokens (or ids and tokens differ in length)", i, ref.ID)
			}
			for k := range st.IDs {
				p := specialPiece{st.IDs[k], st.Tokens[k]}
				if seenA {
					suffix = append(suffix, p)
				} else {
					prefix = append(prefix, p)
				}
			}
		}
		if !seenA {
			return nil, nil, errors.New("single: expected a Sequence A")
		}
		return prefix, suffix, nil
	case "BertProcessing", "RobertaProcessing":
		cls, err := tokenPair("cls", c.Cls)
		if err != nil {
			return nil, nil, err
		}
		sep, err := tokenPair("sep", c.Sep)
		if err != nil {
			return nil, nil, err
		}
		return []specialPiece{cls}, []specialPiece{sep}, nil
	}
	return nil, nil, fmt.Errorf("unsupported post-processor %q (supported: TemplateProcessing, ByteLevel, Sequence, BertProcessing, RobertaProcessing)", c.Type)
}

// tokenPair reads a ["token", id] pair.
func tokenPair(key string, raw []json.RawMessage) (specialPiece, error) {
	var p specialPiece
	if len(raw) != 2 || json.Unmarshal(raw[0], &p.token) != nil || json.Unmarshal(raw[1], &p.id) != nil {
		return p, fmt.Errorf("%s: expected [token, id]", key)
	}
	return p, nil
}

// configJSON is the part of tokenizer_config.json read here.
type configJSON struct {
	BOS         json.RawMessage `json:"bos_token"`
	EOS         json.RawMessage `json:"eos_token"`
	PAD         json.RawMessage `json:"pad_token"`
	AddBOSToken *bool           `json:"add_bos_token"`
}

// readConfig sets bos/eos/pad and addBOS from tokenizer_config.json (cfg may be nil). Without a
// bos_token entry, BOS is the first token the post-processor prepends, if any.
func (t *Tokenizer) readConfig(file string, cfg []byte) error {
	var c configJSON
	if cfg != nil {
		if err := json.Unmarshal(cfg, &c); err != nil {
			return fmt.Errorf("tokenizer: %s: %s", file, jsonerr.Describe(err))
		}
	}
	var err error
	if t.bos, err = t.configToken(file, "bos_token", c.BOS); err != nil {
		return err
	}
	if t.eos, err = t.configToken(file, "eos_token", c.EOS); err != nil {
		return err
	}
	if t.pad, err = t.configToken(file, "pad_token", c.PAD); err != nil {
		return err
	}
	if c.BOS == nil && len(t.postPrefix) > 0 {
		t.bos = int(t.postPrefix[0].id)
	}
	if c.AddBOSToken != nil {
		t.addBOS = *c.AddBOSToken
	} else {
		for _, p := range t.postPrefix {
			t.addBOS = t.addBOS || (t.bos >= 0 && int(p.id) == t.bos)
		}
	}
	return nil
}

// configToken resolves a token entry: a string, an AddedToken object {"content": ...}, or null.
func (t *Tokenizer) configToken(file, key string, raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return -1, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var obj struct {
			Content *string `json:"content"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
			return -1, fmt.Errorf("tokenizer: %s: %s: expected a string, an object with \"content\", or null", file, key)
		}
		s = *obj.Content
	}
	id, ok := t.TokenToID(s)
	if !ok {
		return -1, fmt.Errorf("tokenizer: %s: %s %q is not a token of %s", file, key, s, t.source)
	}
	return id, nil
}
