package cli

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/secret"
)

// kekFlags are how a command that seals keys finds the key-encryption
// key: --key-encryption-key-file, else the configuration's keys section,
// else, with --dev only, a development key kept in the user's
// configuration directory.
type kekFlags struct {
	file *string
	dev  *bool
}

func addKEKFlags(fs *flag.FlagSet) kekFlags {
	return kekFlags{
		file: fs.String("key-encryption-key-file", "", "the key-encryption key that seals master keys at rest (default: the configuration's keys.encryption_key_file or keys.encryption_key_env)"),
		dev: fs.Bool("dev", false, "development mode: without a configured key-encryption key, use (and on first use create) "+
			"one in $XDG_CONFIG_HOME/keyless; not for production"),
	}
}

// noKEK is the refusal when nothing names a key-encryption key.
const noKEK = `no key-encryption key: keyless seals its master keys at rest with a key kept outside the data directory.
  Make one:   keyless keys encryption-key /etc/keyless/kek   (outside the data directory, mode 0600)
  Name it:    keys: {encryption_key_file: /etc/keyless/kek}   (or keys.encryption_key_env: VAR, or --key-encryption-key-file)
  Or try keyless with a development key: keyless serve --dev (make run does)`

// resolve reads the key-encryption keys. ke is the configuration's (zero
// without one); dataDir is where they must not be.
func (f kekFlags) resolve(env Env, ke config.KeyEncryption, dataDir string, log *slog.Logger) (*kek.Set, error) {
	switch {
	case *f.file != "":
		path, err := filepath.Abs(*f.file)
		if err != nil {
			return nil, err
		}
		ke.File, ke.Env = path, ""
	case ke.Set():
	case *f.dev:
		path, created, err := devKEK(env)
		if err != nil {
			return nil, fmt.Errorf("development key-encryption key: %w", err)
		}
		if created {
			log.Warn("development mode: created a key-encryption key; without it the master keys in the data directory cannot be opened. Not for production: name a key in keys.encryption_key_file", "file", path)
		} else {
			log.Warn("development mode: using the development key-encryption key; not for production", "file", path)
		}
		ke.File = path
	default:
		return nil, errors.New(noKEK)
	}
	set := &kek.Set{}
	var err error
	if set.Current, err = readKEK(env, ke.File, ke.Env, dataDir); err != nil {
		return nil, err
	}
	for _, p := range ke.PreviousFiles {
		w, err := readKEK(env, p, "", dataDir)
		if err != nil {
			return nil, err
		}
		set.Previous = append(set.Previous, w)
	}
	for _, e := range ke.PreviousEnvs {
		w, err := readKEK(env, "", e, dataDir)
		if err != nil {
			return nil, err
		}
		set.Previous = append(set.Previous, w)
	}
	return set, nil
}

// readKEK reads one key-encryption key from a file or the environment. A
// file must be a regular file outside the data directory (a copy of that
// directory must not carry its own key) that only its owner can read.
func readKEK(env Env, path, name, dataDir string) (kek.Wrapper, error) {
	if name != "" {
		v, ok := env.LookupEnv(name)
		if !ok || v == "" {
			return nil, fmt.Errorf("key-encryption key: environment variable %s is not set", name)
		}
		w, err := kek.Parse(secret.NewString(v))
		if err != nil {
			return nil, fmt.Errorf("key-encryption key in $%s: %w", name, err)
		}
		return w, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("key-encryption key %s is not a regular file", path)
	case fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("key-encryption key %s can be read by others (mode %04o); chmod 600 %s", path, fi.Mode().Perm(), path)
	case st == nil:
		return nil, fmt.Errorf("key-encryption key %s: no owner or link count", path)
	case st.Nlink != 1:
		// Another name may be inside the data directory, where a copy of
		// the directory would carry the key.
		return nil, fmt.Errorf("key-encryption key %s has %d names (hard links); keep one", path, st.Nlink)
	case st.Uid != uint32(os.Geteuid()) && st.Uid != 0:
		return nil, fmt.Errorf("key-encryption key %s belongs to another user (uid %d)", path, st.Uid)
	}
	if inside(path, dataDir) {
		return nil, fmt.Errorf("key-encryption key %s is inside the data directory %s: a copy of the directory would carry its key; keep it elsewhere", path, dataDir)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	w, err := kek.Parse(secret.NewString(string(b)))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key %s: %w", path, err)
	}
	return w, nil
}

// inside reports whether path is within dir, symbolic links resolved.
func inside(path, dir string) bool {
	if dir == "" {
		return false
	}
	real := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		return p
	}
	rel, err := filepath.Rel(real(dir), real(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// devKEK is the development key-encryption key's file, created (0600) if
// there is none: $XDG_CONFIG_HOME/keyless/dev-key-encryption-key, else
// under $HOME/.config.
func devKEK(env Env) (path string, created bool, err error) {
	base, ok := env.LookupEnv("XDG_CONFIG_HOME")
	if !ok || base == "" {
		home, ok := env.LookupEnv("HOME")
		if !ok || home == "" {
			return "", false, errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
		}
		base = filepath.Join(home, ".config")
	}
	path = filepath.Join(base, "keyless", "dev-key-encryption-key")
	if _, err := os.Stat(path); err == nil {
		return path, false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	if err := writeNewKEK(path); err != nil {
		if errors.Is(err, fs.ErrExist) { // made by a concurrent start
			return path, false, nil
		}
		return "", false, err
	}
	return path, true, nil
}

// writeNewKEK writes a new random key-encryption key to a file that must
// not exist yet, readable by its owner only, and returns once it is on
// disk.
func writeNewKEK(path string) error {
	_, text, err := kek.Generate(rand.Reader)
	if err != nil {
		return err
	}
	// Written whole under a temporary name, then linked into place: a
	// crash or a concurrent start never leaves an empty key file.
	f, err := os.CreateTemp(filepath.Dir(path), ".kek-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := io.WriteString(f, text.Reveal()+"\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Link(tmp, path) // fails if path exists: never overwrites a key
}
