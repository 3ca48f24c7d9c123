package export

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"

	"github.com/moslora/moslora/internal/shared"
	"github.com/moslora/moslora/internal/tinymodel"
)

// modelfileTemplate extracts the TEMPLATE of a Modelfile ("" when there is none).
func modelfileTemplate(mf string) string {
	m := regexp.MustCompile(`(?s)\nTEMPLATE """(.*?)"""\n`).FindStringSubmatch(mf)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestOllamaTemplateRendersLikeTheChatTemplate: for the Llama 3 and Qwen2.5 (ChatML) templates
// of fixtures/chat, the Modelfile's TEMPLATE, rendered as Ollama renders it (Go text/template
// over .Messages), gives transformers' rendering of the reference conversations that carry a
// system message (llama.cpp adds the BOS the Jinja template writes itself); the stop tokens are
// the template's end-of-turn markers.
func TestOllamaTemplateRendersLikeTheChatTemplate(t *testing.T) {
	for _, c := range []struct {
		dir, kind, bos, stop string
	}{{"llama3", "llama3", "<|begin_of_text|>", "<|eot_id|>"}, {"qwen2.5", "chatml", "", "<|im_end|>"}} {
		t.Run(c.dir, func(t *testing.T) {
			root := shared.Path(t, "fixtures", "chat", c.dir)
			jt, err := os.ReadFile(filepath.Join(root, "chat_template.jinja"))
			if err != nil {
				t.Fatal(err)
			}
			info := &OllamaInfo{Model: "model.gguf"}
			mf := modelfile(&ggufVocab{template: string(jt)}, info)
			if info.Template != c.kind || !contains(info.Stop, c.stop) || !strings.Contains(mf, "PARAMETER stop \""+c.stop+"\"\n") {
				t.Fatalf("recognised %q with stops %v, want %s with %q:\n%s", info.Template, info.Stop, c.kind, c.stop, mf)
			}
			tmpl, err := template.New("ollama").Parse(modelfileTemplate(mf))
			if err != nil {
				t.Fatalf("TEMPLATE does not parse as a Go template: %v", err)
			}
			b, err := os.ReadFile(filepath.Join(root, "cases.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cases []struct {
				ID       string `json:"id"`
				Messages []struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"messages"`
				Expected *string `json:"expected"`
			}
			if err := json.Unmarshal(b, &cases); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, cs := range cases {
				if cs.ID != "system_user_gen" && cs.ID != "multi_turn_system_gen" {
					continue
				}
				var out strings.Builder
				if err := tmpl.Execute(&out, map[string]any{"Messages": cs.Messages}); err != nil {
					t.Fatal(err)
				}
				if got := c.bos + out.String(); cs.Expected == nil || got != *cs.Expected {
					t.Errorf("%s: Ollama renders\n%q\nwant\n%q", cs.ID, got, *cs.Expected)
				}
				checked++
			}
			if checked != 2 {
				t.Fatalf("checked %d reference conversations, want 2", checked)
			}
		})
	}
}

// TestOllamaFolderHoldsModelAdapterAndModelfile: with an adapter the folder holds model.gguf,
// adapter.gguf, a Modelfile naming both (FROM, ADAPTER), the stop token, a completion TEMPLATE
// for a model without chat template, and a README with the ollama create command; an unknown
// chat template gets no TEMPLATE but a comment saying why.
func TestOllamaFolderHoldsModelAdapterAndModelfile(t *testing.T) {
	dir := tinymodel.Folder(t, "llama", tinymodel.PreQwen2)
	out := filepath.Join(t.TempDir(), "My Model")
	info, err := Ollama(out, dir, shared.Path(t, "fixtures", "hf", "llama", "lora_r4"), OllamaOptions{OutType: OutQ8_0}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, out)
	if strings.Join(got, ",") != "Modelfile,README.md,adapter.gguf,model.gguf" {
		t.Errorf("folder holds %v", got)
	}
	mf, _ := os.ReadFile(filepath.Join(out, "Modelfile"))
	for _, want := range []string{"\nFROM ./model.gguf\n", "\nADAPTER ./adapter.gguf\n", "\nTEMPLATE \"\"\"{{ .Prompt }}\"\"\"\n"} {
		if !strings.Contains(string(mf), want) {
			t.Errorf("Modelfile lacks %q:\n%s", want, mf)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(out, "README.md"))
	if info.Command != "ollama create my-model -f Modelfile" || !strings.Contains(string(readme), info.Command) || !strings.Contains(string(readme), "ollama run my-model") {
		t.Errorf("command %q; README:\n%s", info.Command, readme)
	}
	for _, f := range []string{"model.gguf", "adapter.gguf"} {
		g, err := ReadGGUF(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if g.KV["general.architecture"] != "llama" {
			t.Errorf("%s: architecture %v", f, g.KV["general.architecture"])
		}
	}
	if _, err := Ollama(out, dir, "", OllamaOptions{}, false, nil); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("existing folder: %v", err)
	}

	g3, err := os.ReadFile(shared.Path(t, "fixtures", "chat", "gemma3", "chat_template.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	info = &OllamaInfo{Model: "model.gguf"}
	v := &ggufVocab{template: string(g3), tokens: []string{"<pad>", "<eos>"}, ids: []ggufSpecialID{{"eos", 1}}}
	mf2 := modelfile(v, info)
	if strings.Contains(mf2, "TEMPLATE") && !strings.Contains(mf2, "# The model's chat template is neither") || modelfileTemplate(mf2) != "" || len(info.Notes) == 0 || !contains(info.Stop, "<eos>") {
		t.Errorf("unrecognised template: notes %v, stop %v, Modelfile:\n%s", info.Notes, info.Stop, mf2)
	}
}
