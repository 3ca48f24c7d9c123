// Package setting is the one shape of a bad or ignored setting: library code (train, jobs) says
// which setting, its value and what was expected without knowing how the user spelled it, and each
// front end renders it in its own terms — the CLI as flags (`--alpha 0`), a library caller as keys
// (`alpha 0`).
//
// # Invariants
//
//   - Error() names settings by their key (kebab-case, as in train_config.json); no library
//     message carries front-end syntax such as `--flag`.
//   - Render(names) changes only how settings are named: the same Error renders to the same text
//     under Key, and to that text with each key replaced by names(key) otherwise.
//   - Settings mentioned inside the message (Args of type Ref, or nested *Error) are renamed too;
//     other Args (paths, values) are printed as given and never interpreted.
package setting

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem with one setting: "Op: setting value" followed by Want. Want is a format for
// Args; a Ref among them names another setting, a *Error among them is rendered with the same
// names. Err, when set, is what Unwrap returns.
type Error struct {
	Op      string // "train", "demo", "warning"; empty for none
	Setting string // the key, e.g. "alpha"; empty when the message names no one setting up front
	Value   any    // printed after the setting; nil for none
	Want    string // the rest of the message, starting with its separator (": expected …", " is …")
	Args    []any
	Err     error
}

// Ref is a reference to another setting inside a message, e.g. Ref("resume") in "use resume to continue".
type Ref string

// Key names a setting by its key: the library's rendering.
func Key(setting string) string { return setting }

func (e *Error) Error() string { return e.Render(Key) }

func (e *Error) Unwrap() error { return e.Err }

// Render writes the message naming every setting by names(key).
func (e *Error) Render(names func(string) string) string {
	s := ""
	if e.Op != "" {
		s = e.Op + ": "
	}
	if e.Setting != "" {
		s += names(e.Setting)
		if e.Value != nil {
			s += fmt.Sprint(" ", e.Value)
		}
	}
	args := make([]any, len(e.Args))
	for i, a := range e.Args {
		switch a := a.(type) {
		case Ref:
			args[i] = names(string(a))
		case *Error:
			args[i] = a.Render(names)
		default:
			args[i] = a
		}
	}
	return s + fmt.Sprintf(e.Want, args...)
}

// Errorf returns a setting error: Op: setting value, then want formatted with args.
func Errorf(op, setting string, value any, want string, args ...any) *Error {
	return &Error{Op: op, Setting: setting, Value: value, Want: want, Args: args}
}

// Wrap is Errorf with err kept for errors.Is / errors.As (want typically ends in "%v" with err last).
func Wrap(err error, op, setting string, value any, want string, args ...any) *Error {
	e := Errorf(op, setting, value, want, args...)
	e.Err = err
	return e
}

// Warning is a setting given that has no effect, in the same shape (Op "warning").
func Warning(setting string, value any, want string, args ...any) *Error {
	return Errorf("warning", setting, value, want, args...)
}

// In renders err — wrapped or not — with each setting error in it named by names; text around
// them (what wrapped them) is kept.
func In(err error, names func(string) string) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var walk func(error) bool
	walk = func(e error) bool {
		if se, ok := e.(*Error); ok {
			lib := se.Error()
			if r := se.Render(names); r != lib {
				if i := strings.Index(s, lib); i >= 0 {
					s = s[:i] + r + s[i+len(lib):]
				}
			}
			return true // its nested errors are rendered with it
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			if n := u.Unwrap(); n != nil {
				walk(n)
			}
		case interface{ Unwrap() []error }:
			for _, n := range u.Unwrap() {
				walk(n)
			}
		}
		return false
	}
	walk(err)
	return s
}

// As reports whether err holds a setting error and returns the outermost.
func As(err error) (*Error, bool) {
	var se *Error
	ok := errors.As(err, &se)
	return se, ok
}
