package export

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moslora/moslora/adapter"
	"github.com/moslora/moslora/model"
)

// OllamaOptions configure an Ollama export.
type OllamaOptions struct {
	OutType GGUFOutType // of the model GGUF
	Name    string      // model name in the printed command; "" = the folder's name
}

// OllamaInfo describes a written Ollama folder.
type OllamaInfo struct {
	Dir       string   `json:"dir"`
	Model     string   `json:"model"`             // model GGUF file name in Dir
	Adapter   string   `json:"adapter,omitempty"` // adapter GGUF file name in Dir
	Template  string   `json:"template"`          // "chatml", "llama3", "completion" or "none"
	Stop      []string `json:"stop"`
	Command   string   `json:"command"` // ollama create … -f Modelfile
	Notes     []string `json:"notes,omitempty"`
	Modelfile string   `json:"-"`
}

// Ollama writes the folder out for "ollama create": model.gguf (the model folder dir as
// GGUFModel writes it), with adapterDir also adapter.gguf (the adapter as GGUF writes it, applied
// by Ollama's ADAPTER), a Modelfile and a README.md holding the command to run. The Modelfile's
// TEMPLATE is translated from the model's chat template when it is a ChatML or Llama 3 template;
// a model without a chat template gets a plain completion template; any other template is left
// to Ollama (which reads tokenizer.chat_template from the GGUF) with a comment saying so. The
// folder is built beside out and renamed into place when complete.
func Ollama(out, dir, adapterDir string, opt OllamaOptions, force bool, progress func(done, total int)) (*OllamaInfo, error) {
	cfg, err := model.LoadConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	vocab, err := readGGUFVocab(dir, cfg)
	if err != nil {
		return nil, err
	}
	name := opt.Name
	if name == "" {
		name = ollamaName(filepath.Base(filepath.Clean(out)))
	}
	info := &OllamaInfo{Dir: out, Model: "model.gguf", Command: fmt.Sprintf("ollama create %s -f Modelfile", name)}
	var m *model.Model
	var a *adapter.Adapter
	if adapterDir != "" {
		if m, err = model.Load(dir); err != nil {
			return nil, err
		}
		if a, err = adapter.Load(adapterDir, m); err != nil {
			return nil, err
		}
		info.Adapter = "adapter.gguf"
	}
	info.Modelfile = modelfile(vocab, info)
	readme := ollamaReadme(dir, adapterDir, name, info)
	err = writeDir(out, force, func(tmp string) error {
		if _, err := GGUFModel(filepath.Join(tmp, info.Model), dir, opt.OutType, false, progress); err != nil {
			return err
		}
		if a != nil {
			if err := GGUF(filepath.Join(tmp, info.Adapter), m, a, false); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(tmp, "Modelfile"), []byte(info.Modelfile), 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := os.WriteFile(filepath.Join(tmp, "README.md"), []byte(readme), 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// ollamaName makes a folder name usable as an Ollama model name (lower case, [a-z0-9._-]).
func ollamaName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "moslora-model"
	}
	return b.String()
}

// chatTemplates are the chat template families the Modelfile TEMPLATE is translated for: a
// template is recognised by its turn markers, and rendered with Ollama's Go template over
// .Messages (Ollama prepends the SYSTEM message there).
var chatTemplates = []struct {
	name    string
	markers []string // all present in the Jinja template
	tmpl    string
	stop    []string
}{
	{
		name:    "chatml",
		markers: []string{"<|im_start|>", "<|im_end|>"},
		tmpl: "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n" +
			"{{ end }}<|im_start|>assistant\n",
		stop: []string{"<|im_end|>", "<|im_start|>"},
	},
	{
		name:    "llama3",
		markers: []string{"<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
		tmpl: "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>" +
			"{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
		stop: []string{"<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"},
	},
}

// modelfile renders the Modelfile text and fills info's Template, Stop and Notes.
func modelfile(v *ggufVocab, info *OllamaInfo) string {
	var b strings.Builder
	b.WriteString("# Modelfile written by moslora export --format ollama\n")
	fmt.Fprintf(&b, "FROM ./%s\n", info.Model)
	if info.Adapter != "" {
		fmt.Fprintf(&b, "ADAPTER ./%s\n", info.Adapter)
	}
	eos := ""
	for _, s := range v.ids {
		if s.typ == "eos" && s.id < len(v.tokens) {
			eos = v.tokens[s.id]
		}
	}
	info.Template = "none"
	switch {
	case v.template == "":
		info.Template = "completion"
		info.Notes = append(info.Notes, "the model has no chat template: the Modelfile continues the prompt as is")
		b.WriteString("# The model has no chat template: prompts are continued as plain text.\n")
		b.WriteString("TEMPLATE \"\"\"{{ .Prompt }}\"\"\"\n")
	default:
		for _, ct := range chatTemplates {
			all := true
			for _, mk := range ct.markers {
				all = all && strings.Contains(v.template, mk)
			}
			if all {
				info.Template = ct.name
				info.Stop = append(info.Stop, ct.stop...)
				fmt.Fprintf(&b, "# TEMPLATE translated from the model's %s chat template (messages only: tools and any\n# default system prompt of the Jinja template are not carried over).\n", ct.name)
				fmt.Fprintf(&b, "TEMPLATE \"\"\"%s\"\"\"\n", ct.tmpl)
				break
			}
		}
		if info.Template == "none" {
			info.Notes = append(info.Notes, "the chat template is neither ChatML nor Llama 3: no TEMPLATE written; Ollama falls back to the GGUF's tokenizer.chat_template if it recognises it")
			b.WriteString("# The model's chat template is neither ChatML nor Llama 3 style, so no TEMPLATE is\n")
			b.WriteString("# written: Ollama uses the GGUF's tokenizer.chat_template if it recognises it; otherwise\n")
			b.WriteString("# write a TEMPLATE here by hand.\n")
		}
	}
	if eos != "" && !contains(info.Stop, eos) {
		info.Stop = append(info.Stop, eos)
	}
	for _, s := range info.Stop {
		fmt.Fprintf(&b, "PARAMETER stop %q\n", s)
	}
	return b.String()
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func ollamaReadme(dir, adapterDir, name string, info *OllamaInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\nWritten by `moslora export --format ollama` from the model folder `%s`", name, dir)
	if adapterDir != "" {
		fmt.Fprintf(&b, " with the adapter `%s` (as a GGUF LoRA adapter, mixer folded)", adapterDir)
	}
	b.WriteString(".\n\nIn this folder:\n\n```sh\n")
	fmt.Fprintf(&b, "%s\nollama run %s\n```\n\n", info.Command, name)
	fmt.Fprintf(&b, "The same files run in llama.cpp: `llama-cli -m %s", info.Model)
	if info.Adapter != "" {
		fmt.Fprintf(&b, " --lora %s", info.Adapter)
	}
	b.WriteString("`.\n")
	return b.String()
}
