package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A key-encryption key file is refused when a copy of the data directory
// could carry it or another user could read it: readable by others, with
// a second name (a hard link, possibly inside the data directory), inside
// the data directory, or not a regular file; an environment variable must
// be set and hold a key.
func TestReadKEKRefuses(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "kek")
	if err := writeNewKEK(good); err != nil {
		t.Fatal(err)
	}
	env := Env{LookupEnv: func(k string) (string, bool) {
		if k == "KEK" {
			b, _ := os.ReadFile(good)
			return string(b), true
		}
		if k == "BAD" {
			return "c2hvcnQ=", true
		}
		return "", false
	}}
	w, err := readKEK(env, good, "", data)
	if err != nil {
		t.Fatalf("a good file: %v", err)
	}
	if e, err := readKEK(env, "", "KEK", data); err != nil || e.ID() != w.ID() {
		t.Fatalf("the same key from the environment: %v", err)
	}
	inside := filepath.Join(data, "kek")
	if err := writeNewKEK(inside); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := writeNewKEK(open); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o640); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(dir, "linked")
	if err := writeNewKEK(linked); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(linked, filepath.Join(data, "copy-of-kek")); err != nil {
		t.Fatal(err)
	}
	symlinkIn := filepath.Join(dir, "symlink")
	if err := os.Symlink(inside, symlinkIn); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		inside:    "inside the data directory",
		symlinkIn: "inside the data directory",
		open:      "can be read by others",
		linked:    "has 2 names",
		dir:       "not a regular file",
	} {
		if _, err := readKEK(env, path, "", data); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", filepath.Base(path), err, want)
		}
	}
	for name, want := range map[string]string{"UNSET": "is not set", "BAD": "base64 of 32"} {
		if _, err := readKEK(env, "", name, data); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("$%s: %v, want %q", name, err, want)
		}
	}
	// A key file is never overwritten.
	if err := writeNewKEK(good); err == nil {
		t.Error("writeNewKEK overwrote a key")
	}
	if _, err := readKEK(env, good, "", data); err != nil {
		t.Errorf("the key after a refused overwrite: %v", err)
	}
}
