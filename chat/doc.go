// Package chat renders conversations with a model's own chat template exactly as Hugging Face
// transformers' tokenizer.apply_chat_template(messages, tokenize=False, ...) renders them.
//
// # What a render sees
//
// A Template comes from a model folder: chat_template.jinja, else "chat_template" in
// tokenizer_config.json (a string, or a list of {"name", "template"} from which "default" — or
// "tool_use" when the conversation has tools, or the name asked for — is taken). The template is
// rendered with transformers' variables, in transformers' order (later ones win):
//
//	bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token   (strings, when set)
//	additional_special_tokens                                                     (list, when set)
//	the conversation's extra keys (enable_thinking, date_string, ...)
//	messages, tools (none when absent), documents (none when absent), add_generation_prompt
//
// and transformers' globals and filter: raise_exception(msg) (a *TemplateError carrying msg),
// strftime_now(fmt) (C locale, on an injectable clock), and tojson =
// json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False): keys in input
// order, ", " / ": " separators, 3.0 stays 3.0, no HTML escaping. continue_final_message follows
// transformers: a ValueError with add_generation_prompt, otherwise the final message is rendered
// with a tag appended and the text is cut where the tag begins.
//
// # The Jinja engine
//
// Rendering uses github.com/ardanlabs/jinja v1.8.0, the newest release that builds with Go 1.26
// (v1.9.0 and later declare go 1.27, which would make every user, script and CI run export
// GOTOOLCHAIN=go1.27.3). Measured on the 187 cases of ../shared/fixtures/chat, v1.8.0 alone renders
// all but the cases whose output comes from its own tojson (indented output sorts keys and escapes
// <, >, &; 3.0 prints as 3). We keep v1.8.0 and supply transformers' tojson ourselves: the engine
// looks a filter name it does not know up among the render variables, so Parse renames the tojson
// filter in the template's code (outside string literals and raw blocks) to a variable holding our
// implementation (tojson.go). The `{% generation %}` block that transformers adds (the engine has
// none) is rewritten the same way into markers that Render turns into assistant spans. With both,
// every fixture case renders byte for byte (TestFixtureCasesRenderExactly).
//
// # Sandbox
//
// The engine evaluates templates over JSON-like values only (none, booleans, numbers, strings,
// lists, dicts) and the few functions registered here (globals.go): a template cannot reach Go
// objects, files (include, import and extends do not parse), the environment or the network, which
// is what transformers' ImmutableSandboxedEnvironment guarantees for Python; range() is capped at
// the sandbox's MAX_RANGE (100000), and a panic inside the engine is returned as an error.
//
// # Invariants
//
//   - JSON values keep their object key order and their int-vs-float kind from the input text to
//     the template (3.0 is a float and prints as 3.0 through tojson; 3 stays an int).
//   - Render never mutates the Conversation it is given (continue_final_message works on a copy).
//   - A render error is a *TemplateError (raise_exception; Msg is the template's message), a
//     *ValueError (apply_chat_template's own checks) or an engine error naming the template.
//   - Generation spans are byte ranges of the returned text, ascending and non-overlapping.
package chat
