package jsonindent

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func checkString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendString(nil, s); !bytes.Equal(got, want) {
		t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
	}
}

// Every escape encoding/json has, alone and between plain text.
func TestAppendStringMatchesMarshal(t *testing.T) {
	cases := []string{
		"", "plain", `"`, `\`, "/", "<", ">", "&", "<script>&amp;</script>",
		"\b", "\f", "\n", "\r", "\t", "\x00", "\x01", "\x1f", " ", "\x7f",
		"é", "日本語", "\U0001F600", "\u2028", "\u2029", "a\u2028b\u2029c", "\u2027\u202a",
		"\xff", "\xc3", "a\xc3", "\xc3(", "\xe2\x80", "\xe2\x80\xa8", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\ufffd", "ok\xffok", "mixed \"q\" \\ <&> \n\t\x00 é \u2028 \xfe",
	}
	for c := range utf8.RuneSelf {
		cases = append(cases, string(rune(c)), "x"+string(rune(c))+"y")
	}
	for _, s := range cases {
		checkString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a<b>&c", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xc3(", "é\"\\/"} {
		f.Add(s)
	}
	f.Fuzz(checkString)
}
