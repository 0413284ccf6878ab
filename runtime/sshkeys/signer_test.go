package sshkeys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestLoadSigner(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	locked, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	plainFile := write("id_plain", pem.EncodeToMemory(plain))
	lockedFile := write("id_locked", pem.EncodeToMemory(locked))
	junkFile := write("id_junk", []byte("not a key\n"))
	missing := filepath.Join(dir, "nope")

	tests := []struct {
		name    string
		file    string
		wantErr string
		// is reports whether err is of the kind callers tell apart.
		is func(error) bool
	}{
		{name: "plain key", file: plainFile},
		{
			name:    "missing file",
			file:    missing,
			wantErr: "open " + missing + ": no such file or directory",
			is:      func(err error) bool { return errors.Is(err, fs.ErrNotExist) },
		},
		{
			name:    "passphrase",
			file:    lockedFile,
			wantErr: "ssh key " + lockedFile + " is protected by a passphrase: add it to ssh-agent",
			is: func(err error) bool {
				var pe *PassphraseError
				var missing *ssh.PassphraseMissingError
				return errors.As(err, &pe) && pe.File == lockedFile && errors.As(err, &missing)
			},
		},
		{
			name:    "not a key",
			file:    junkFile,
			wantErr: "ssh key " + junkFile + ": ssh: no key found",
			is: func(err error) bool {
				var pe *fs.PathError
				return !errors.As(err, &pe)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := LoadSigner(tt.file)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error:\n got: %v\nwant: %s", err, tt.wantErr)
				}
				if !tt.is(err) {
					t.Errorf("error %v (%T) is not of the kind callers test for", err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ssh.FingerprintSHA256(s.PublicKey()), ssh.FingerprintSHA256(sshPub); got != want {
				t.Errorf("key %s, want %s", got, want)
			}
		})
	}
}
