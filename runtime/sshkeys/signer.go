package sshkeys

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// PassphraseError is a private key that needs a passphrase. We never ask
// for one: such a key works through ssh-agent.
type PassphraseError struct {
	File string
	Err  error
}

func (e *PassphraseError) Error() string {
	return fmt.Sprintf("ssh key %s is protected by a passphrase: add it to ssh-agent", e.File)
}

func (e *PassphraseError) Unwrap() error { return e.Err }

// LoadSigner reads the private key in file. When the file cannot be read
// the error is the one os.ReadFile returned, so callers can tell a missing
// file (errors.Is(err, fs.ErrNotExist)) from a bad one; a key that needs a
// passphrase is a *PassphraseError; any other error names the file.
func LoadSigner(file string) (ssh.Signer, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing):
		return nil, &PassphraseError{File: file, Err: err}
	case err != nil:
		return nil, fmt.Errorf("ssh key %s: %w", file, err)
	}
	return signer, nil
}
