package export

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/model"
)

// ggufTokenType is gguf-py's TokenType.
type ggufTokenType int32

const (
	tokNormal      ggufTokenType = 1
	tokControl     ggufTokenType = 3
	tokUnknown     ggufTokenType = 2
	tokUserDefined ggufTokenType = 4
	tokByte        ggufTokenType = 6
	tokUnused      ggufTokenType = 5
)

// ggufVocab is the tokenizer part of a GGUF model file, gathered as convert_hf_to_gguf.py's
// _set_vocab_gpt2 (get_vocab_base) and gguf-py's SpecialVocab gather it.
type ggufVocab struct {
	model    string // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE)
	pre      string // tokenizer.ggml.pre: the pre-tokenizer's name in llama.cpp
	tokens   []string
	scores   []float32 // "llama" only: merge priority of each token
	types    []int32
	merges   []string        // "left right", spaces inside a part written as U+0120 + 256 (Ġ)
	ids      []ggufSpecialID // bos, eos, unk, sep, pad, … in SpecialVocab's order
	addBOS   *bool           // tokenizer.ggml.add_bos_token, when known
	addEOS   *bool           // tokenizer.ggml.add_eos_token, when known
	template string          // tokenizer.chat_template ("" = none)
}

type ggufSpecialID struct {
	typ string // "bos", "eos", …
	id  int
}

// specialKeys are SpecialVocab's special_token_types with the GGUF key of each.
var specialKeys = []struct{ typ, key string }{
	{"bos", "tokenizer.ggml.bos_token_id"},
	{"eos", "tokenizer.ggml.eos_token_id"},
	{"unk", "tokenizer.ggml.unknown_token_id"},
	{"sep", "tokenizer.ggml.seperator_token_id"}, // sic: llama.cpp's spelling
	{"pad", "tokenizer.ggml.padding_token_id"},
	{"cls", "tokenizer.ggml.cls_token_id"},
	{"mask", "tokenizer.ggml.mask_token_id"},
}

// preTokenizers maps the Split regex of a byte-level BPE pre-tokenizer to llama.cpp's
// tokenizer.ggml.pre name whose built-in regex is the same (llama-vocab.cpp); a plain ByteLevel
// pre-tokenizer with use_regex is GPT-2's.
var preTokenizers = map[string]string{
	// Llama 3 (and our base-19m): llama.cpp LLAMA_VOCAB_PRE_TYPE_LLAMA3.
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
	// Qwen2 / Qwen2.5 / Qwen3: LLAMA_VOCAB_PRE_TYPE_QWEN2.
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "qwen2",
}

// tokenizerJSON is the part of tokenizer.json the GGUF vocabulary needs.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		Normalized bool   `json:"normalized"`
	} `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         struct {
		Type         string          `json:"type"`
		Vocab        map[string]int  `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		ByteFallback bool            `json:"byte_fallback"`
		UnkToken     string          `json:"unk_token"`
	} `json:"model"`
}

// readGGUFVocab gathers the vocabulary of the model folder dir for a model of vocab_size
// cfg.VocabSize. Tokenizers llama.cpp cannot reproduce from what GGUF stores (not byte-level BPE,
// or a pre-tokenizer regex llama.cpp has no name for) are errors naming the file and key.
func readGGUFVocab(dir string, cfg *model.Config) (*ggufVocab, error) {
	path := filepath.Join(dir, "tokenizer.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("export: a GGUF model needs the tokenizer: %w", err)
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, fmt.Errorf("export: %s: invalid JSON: %v", path, err)
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf(`export: %s: "model" is %s; GGUF model export supports BPE tokenizers (byte-level as Llama 3 / Qwen2 / GPT-2, or SentencePiece-style with byte fallback as Llama 2)`, path, tj.Model.Type)
	}
	v := &ggufVocab{model: "gpt2"}
	if tj.Model.ByteFallback {
		v.model, v.pre = "llama", "default"
		if err := checkSentencePieceStyle(tj); err != nil {
			return nil, fmt.Errorf("export: %s: %w", path, err)
		}
	} else {
		if v.pre, err = preTokenizerName(tj.PreTokenizer); err != nil {
			return nil, fmt.Errorf("export: %s: %w", path, err)
		}
		if n := string(tj.Normalizer); n != "" && n != "null" && !strings.Contains(n, `"NFC"`) {
			return nil, fmt.Errorf(`export: %s: "normalizer" %s has no llama.cpp equivalent`, path, n)
		}
	}

	// Tokens and types (get_vocab_base): ids missing from the vocabulary become "[PAD<i>]" UNUSED.
	V := cfg.VocabSize
	v.tokens = make([]string, V)
	v.types = make([]int32, V)
	have := make([]bool, V)
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= V {
			return nil, fmt.Errorf(`export: %s: token %q has id %d, outside the model's vocab_size %d`, path, tok, id, V)
		}
		v.tokens[id], v.types[id], have[id] = tok, int32(tokNormal), true
	}
	for _, at := range tj.AddedTokens {
		if at.ID < 0 || at.ID >= V {
			return nil, fmt.Errorf(`export: %s: added token %q has id %d, outside the model's vocab_size %d`, path, at.Content, at.ID, V)
		}
		v.tokens[at.ID], have[at.ID] = at.Content, true
		if at.Special || looksSpecial(at.Content) {
			v.types[at.ID] = int32(tokControl)
		} else {
			v.types[at.ID] = int32(tokUserDefined)
		}
	}
	for i := range v.tokens {
		if !have[i] {
			v.tokens[i], v.types[i] = fmt.Sprintf("[PAD%d]", i), int32(tokUnused)
		}
	}

	// Merges: strings "a b" or pairs ["a", "b"] (spaces inside a part encoded as U+0120).
	var mstr []string
	var mpairs [][2]string
	if err := json.Unmarshal(tj.Model.Merges, &mstr); err != nil {
		if err := json.Unmarshal(tj.Model.Merges, &mpairs); err != nil {
			return nil, fmt.Errorf(`export: %s: "model.merges" is neither a list of strings nor of pairs`, path)
		}
		mstr = make([]string, len(mpairs))
		for i, p := range mpairs {
			mstr[i] = strings.ReplaceAll(p[0], " ", "\u0120") + " " + strings.ReplaceAll(p[1], " ", "\u0120")
		}
	}
	if v.model == "llama" {
		v.setSentencePieceScores(mstr, tj.Model.UnkToken)
	} else {
		v.merges = mstr
	}

	if err := v.readSpecial(dir, tj); err != nil {
		return nil, err
	}
	return v, nil
}

// checkSentencePieceStyle accepts the tokenizer.json form of a SentencePiece BPE model that
// llama.cpp's "llama" tokenizer reproduces: no pre-tokenizer, and a normalizer that prepends "▁"
// and replaces spaces with "▁" (llama.cpp's add_space_prefix and escaping).
func checkSentencePieceStyle(tj tokenizerJSON) error {
	if p := string(tj.PreTokenizer); p != "" && p != "null" {
		return fmt.Errorf(`a byte-fallback tokenizer with a "pre_tokenizer" (%s) is not exported: llama.cpp's SentencePiece tokenizer matches only the normalizer form (Prepend "▁", Replace " " → "▁", no pre-tokenizer)`, p)
	}
	var n struct {
		Type        string `json:"type"`
		Normalizers []struct {
			Type    string `json:"type"`
			Prepend string `json:"prepend"`
			Pattern struct {
				String string `json:"String"`
			} `json:"pattern"`
			Content string `json:"content"`
		} `json:"normalizers"`
	}
	json.Unmarshal(tj.Normalizer, &n)
	ok := n.Type == "Sequence" && len(n.Normalizers) == 2 &&
		n.Normalizers[0].Type == "Prepend" && n.Normalizers[0].Prepend == "▁" &&
		n.Normalizers[1].Type == "Replace" && n.Normalizers[1].Pattern.String == " " && n.Normalizers[1].Content == "▁"
	if !ok {
		return fmt.Errorf(`a byte-fallback tokenizer needs "normalizer" = Sequence[Prepend "▁", Replace " " → "▁"] for llama.cpp's SentencePiece tokenizer, got %s`, string(tj.Normalizer))
	}
	return nil
}

// setSentencePieceScores gives each token llama.cpp's merge priority: llama.cpp's SentencePiece
// tokenizer repeatedly merges the adjacent pair whose concatenation is the token of highest
// score, so a token made by merge number i scores -i (its first merge, when several make it);
// tokens no merge makes score -1e9 (they are never merge results). Byte tokens <0xXX> are BYTE,
// the unknown token UNKNOWN.
func (v *ggufVocab) setSentencePieceScores(merges []string, unk string) {
	id := make(map[string]int, len(v.tokens))
	for i, t := range v.tokens {
		id[t] = i
	}
	v.scores = make([]float32, len(v.tokens))
	for i := range v.scores {
		v.scores[i] = -1e9
	}
	for i, m := range merges {
		l, r, _ := strings.Cut(m, " ")
		if j, ok := id[l+r]; ok && v.scores[j] == -1e9 {
			v.scores[j] = float32(-i)
		}
	}
	for i, t := range v.tokens {
		switch {
		case v.types[i] != int32(tokNormal):
		case t == unk:
			v.types[i] = int32(tokUnknown)
		case len(t) == 6 && strings.HasPrefix(t, "<0x") && strings.HasSuffix(t, ">"):
			v.types[i] = int32(tokByte)
		}
	}
}

// preTokenizerName names the pre-tokenizer in llama.cpp's terms.
func preTokenizerName(raw json.RawMessage) (string, error) {
	var pt struct {
		Type          string            `json:"type"`
		UseRegex      *bool             `json:"use_regex"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf(`"pre_tokenizer" is missing; llama.cpp needs a byte-level pre-tokenizer`)
	}
	if err := json.Unmarshal(raw, &pt); err != nil {
		return "", fmt.Errorf(`"pre_tokenizer": %v`, err)
	}
	if pt.Type == "ByteLevel" && (pt.UseRegex == nil || *pt.UseRegex) {
		return "gpt-2", nil
	}
	if pt.Type == "Sequence" && len(pt.Pretokenizers) == 2 {
		var split struct {
			Type    string `json:"type"`
			Pattern struct {
				Regex string `json:"Regex"`
			} `json:"pattern"`
			Behavior string `json:"behavior"`
			Invert   bool   `json:"invert"`
		}
		var bl struct {
			Type     string `json:"type"`
			UseRegex bool   `json:"use_regex"`
		}
		if json.Unmarshal(pt.Pretokenizers[0], &split) == nil && json.Unmarshal(pt.Pretokenizers[1], &bl) == nil &&
			split.Type == "Split" && split.Behavior == "Isolated" && !split.Invert && bl.Type == "ByteLevel" && !bl.UseRegex {
			if name, ok := preTokenizers[split.Pattern.Regex]; ok {
				return name, nil
			}
			return "", fmt.Errorf(`"pre_tokenizer" splits on the regex %q, which matches none of llama.cpp's pre-tokenizers that GGUF export knows (llama-bpe, qwen2, gpt-2)`, split.Pattern.Regex)
		}
	}
	return "", fmt.Errorf(`"pre_tokenizer" %s is not one GGUF export can name (expected ByteLevel, or Split(regex) + ByteLevel as Llama 3 / Qwen2 / GPT-2 write it)`, string(raw))
}

// looksSpecial is convert_hf_to_gguf.py's does_token_look_special.
func looksSpecial(t string) bool {
	switch t {
	case "<pad>", "<mask>", "<2mass>", "[@BOS@]":
		return true
	}
	return (strings.HasPrefix(t, "<|") && strings.HasSuffix(t, "|>")) ||
		(strings.HasPrefix(t, "<｜") && strings.HasSuffix(t, "｜>")) ||
		(strings.HasPrefix(t, "<unused") && strings.HasSuffix(t, ">"))
}

// readSpecial fills the special token ids, add_bos/add_eos and the chat template as SpecialVocab
// does: TemplateProcessing in tokenizer.json decides whether BOS / EOS are added, tokenizer_config
// overrides that and names the special tokens (looked up among added_tokens), config.json's
// *_token_id fill the types still unset; the chat template is tokenizer_config's chat_template,
// else chat_template.jinja.
func (v *ggufVocab) readSpecial(dir string, tj tokenizerJSON) error {
	tcPath := filepath.Join(dir, "tokenizer_config.json")
	tc := map[string]any{}
	if b, err := os.ReadFile(tcPath); err == nil {
		if err := json.Unmarshal(b, &tc); err != nil {
			return fmt.Errorf("export: %s: invalid JSON: %v", tcPath, err)
		}
	}
	tokenContent := func(typ string) string {
		switch e := tc[typ+"_token"].(type) {
		case string:
			return e
		case map[string]any:
			s, _ := e["content"].(string)
			return s
		}
		return ""
	}
	bos, eos := tokenContent("bos"), tokenContent("eos")
	if len(tj.PostProcessor) > 0 && string(tj.PostProcessor) != "null" {
		var pp struct {
			Type       string            `json:"type"`
			Processors []json.RawMessage `json:"processors"`
		}
		json.Unmarshal(tj.PostProcessor, &pp)
		procs := pp.Processors
		if pp.Type != "Sequence" {
			procs = []json.RawMessage{tj.PostProcessor}
		}
		for _, raw := range procs {
			var p struct {
				Type   string `json:"type"`
				Single []struct {
					SpecialToken *struct {
						ID string `json:"id"`
					} `json:"SpecialToken"`
				} `json:"single"`
			}
			if json.Unmarshal(raw, &p) != nil || p.Type != "TemplateProcessing" || len(p.Single) < 2 {
				continue
			}
			if st := p.Single[0].SpecialToken; st != nil {
				if len(tc) == 0 {
					bos = st.ID
				}
				t := st.ID == bos
				v.addBOS = &t
			}
			if st := p.Single[len(p.Single)-1].SpecialToken; st != nil {
				if len(tc) == 0 {
					eos = st.ID
				}
				t := st.ID == eos
				v.addEOS = &t
			}
		}
	}
	if b, ok := tc["add_bos_token"].(bool); ok {
		v.addBOS = &b
	}
	if b, ok := tc["add_eos_token"].(bool); ok {
		v.addEOS = &b
	}
	set := map[string]bool{}
	for _, sk := range specialKeys {
		content := tokenContent(sk.typ)
		if sk.typ == "bos" && content == "" {
			content = bos
		}
		if content == "" {
			continue
		}
		for _, at := range tj.AddedTokens {
			if at.Content == content {
				v.ids = append(v.ids, ggufSpecialID{sk.typ, at.ID})
				set[sk.typ] = true
				break
			}
		}
	}
	// config.json's ids for the types still unset.
	var cfg map[string]any
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		json.Unmarshal(b, &cfg)
	}
	for _, sk := range specialKeys {
		if set[sk.typ] {
			continue
		}
		if f, ok := cfg[sk.typ+"_token_id"].(float64); ok && f >= 0 && f == float64(int(f)) && int(f) < len(v.tokens) {
			v.ids = append(v.ids, ggufSpecialID{sk.typ, int(f)})
		}
	}
	switch t := tc["chat_template"].(type) {
	case string:
		v.template = t
	case nil:
		if b, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
			v.template = string(b)
		}
	default:
		return fmt.Errorf(`export: %s: "chat_template" is not a string (named templates are not exported yet)`, tcPath)
	}
	return nil
}

// addTo writes the tokenizer keys in SpecialVocab.add_to_gguf's order after the token lists.
func (v *ggufVocab) addTo(kv *ggufKV) {
	kv.str("tokenizer.ggml.model", v.model)
	kv.str("tokenizer.ggml.pre", v.pre)
	kv.strs("tokenizer.ggml.tokens", v.tokens)
	if v.scores != nil {
		kv.f32s("tokenizer.ggml.scores", v.scores)
	}
	kv.i32s("tokenizer.ggml.token_type", v.types)
	if v.merges != nil {
		kv.strs("tokenizer.ggml.merges", v.merges)
	}
	for _, sk := range specialKeys {
		for _, s := range v.ids {
			if s.typ == sk.typ {
				kv.u32(sk.key, uint32(s.id))
			}
		}
	}
	if v.addBOS != nil {
		kv.boolean("tokenizer.ggml.add_bos_token", *v.addBOS)
	}
	if v.addEOS != nil {
		kv.boolean("tokenizer.ggml.add_eos_token", *v.addEOS)
	}
	if v.template != "" {
		kv.str("tokenizer.chat_template", v.template)
	}
}
