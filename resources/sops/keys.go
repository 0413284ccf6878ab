package sops

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
)

// Keys are the age identities a run decrypts with, and where they came
// from, for messages (never the key material itself).
type Keys struct {
	ids    []age.Identity
	source string
}

// Source names where the keys were read from (a flag or variable).
func (k *Keys) Source() string { return k.source }

// maxKeyFile bounds an age key file: a line per key, a few keys.
const maxKeyFile = 1 << 20

// LoadKeys reads age identities from file (--sops-age-key-file), else from
// the file named by envFile (SOPS_AGE_KEY_FILE), else from envKey
// (SOPS_AGE_KEY, the keys themselves), as sops looks for them. It returns
// nil, nil when none is configured; decrypting then fails with ErrNoKey.
func LoadKeys(file, envFile, envKey string) (*Keys, error) {
	var text, source string
	switch {
	case file != "":
		source = "--sops-age-key-file " + file
		b, err := readLimited(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", source, err)
		}
		text = string(b)
	case envFile != "":
		source = "SOPS_AGE_KEY_FILE=" + envFile
		b, err := readLimited(envFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", source, err)
		}
		text = string(b)
	case envKey != "":
		source, text = "SOPS_AGE_KEY", envKey
	default:
		return nil, nil
	}
	ids, err := age.ParseIdentities(strings.NewReader(text))
	if err != nil {
		// age's parse errors name the line, never the key material.
		return nil, fmt.Errorf("%s: not an age identity file (age-keygen output, AGE-SECRET-KEY-1... lines): %v", source, err)
	}
	return &Keys{ids: ids, source: source}, nil
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, pe.Err
		}
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes: not an age key file", maxKeyFile)
	}
	return b, nil
}
