package resources

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Quantity is a Kubernetes resource quantity ("500m", "1", "128Mi", "1G").
// Raw keeps what the manifest said so render prints it back unchanged.
type Quantity struct {
	Raw string
}

// ParseQuantity checks s has the Kubernetes quantity form: a decimal
// number followed by a binary (Ki..Ei), decimal (n, u, m, k, M..E) or
// exponent (e3, E-2) suffix.
func ParseQuantity(s string) (Quantity, error) {
	q := Quantity{Raw: s}
	if _, err := q.rat(); err != nil {
		return Quantity{}, err
	}
	return q, nil
}

var quantitySuffixes = map[string]*big.Rat{
	"":   big.NewRat(1, 1),
	"n":  big.NewRat(1, 1_000_000_000),
	"u":  big.NewRat(1, 1_000_000),
	"m":  big.NewRat(1, 1_000),
	"k":  big.NewRat(1_000, 1),
	"M":  big.NewRat(1_000_000, 1),
	"G":  big.NewRat(1_000_000_000, 1),
	"T":  big.NewRat(1_000_000_000_000, 1),
	"P":  big.NewRat(1_000_000_000_000_000, 1),
	"E":  big.NewRat(1_000_000_000_000_000_000, 1),
	"Ki": big.NewRat(1<<10, 1),
	"Mi": big.NewRat(1<<20, 1),
	"Gi": big.NewRat(1<<30, 1),
	"Ti": big.NewRat(1<<40, 1),
	"Pi": big.NewRat(1<<50, 1),
	"Ei": big.NewRat(1<<60, 1),
}

// rat is the exact value of the quantity.
func (q Quantity) rat() (*big.Rat, error) {
	s := q.Raw
	bad := fmt.Errorf("invalid quantity %q: use a number with an optional suffix, like 500m, 0.5, 2 (cpu) or 128Mi, 1G, 1e9 (memory)", s)
	if s == "" || len(s) > 64 {
		return nil, bad
	}
	// The number is an optional sign, digits and at most one '.'.
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits, dots := 0, 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digits++
		} else if c == '.' {
			dots++
		} else {
			break
		}
	}
	if digits == 0 || dots > 1 {
		return nil, bad
	}
	num, ok := new(big.Rat).SetString(s[:i])
	if !ok {
		return nil, bad
	}
	suffix := s[i:]
	if mult, ok := quantitySuffixes[suffix]; ok {
		return num.Mul(num, mult), nil
	}
	if suffix[0] != 'e' && suffix[0] != 'E' {
		return nil, bad
	}
	exp := suffix[1:]
	neg := false
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		neg = exp[0] == '-'
		exp = exp[1:]
	}
	if exp == "" || len(exp) > 2 || strings.Trim(exp, "0123456789") != "" {
		return nil, bad
	}
	e, _ := strconv.Atoi(exp) // two digits at most, checked above
	pow := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
	if neg {
		return num.Quo(num, pow), nil
	}
	return num.Mul(num, pow), nil
}

// MilliValue is the quantity in thousandths, rounded up: the CPU in
// millicores. An invalid quantity is 0; huge ones saturate.
func (q Quantity) MilliValue() int64 {
	r, err := q.rat()
	if err != nil {
		return 0
	}
	return ceilInt64(r.Mul(r, big.NewRat(1000, 1)))
}

// Value is the quantity rounded up to a whole number: memory in bytes.
func (q Quantity) Value() int64 {
	r, err := q.rat()
	if err != nil {
		return 0
	}
	return ceilInt64(r)
}

func ceilInt64(r *big.Rat) int64 {
	quo, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() > 0 {
		quo.Add(quo, big.NewInt(1))
	}
	switch {
	case quo.IsInt64():
		return quo.Int64()
	case quo.Sign() > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

func (q Quantity) String() string { return q.Raw }

func (q Quantity) MarshalJSON() ([]byte, error) { return json.Marshal(q.Raw) }

// UnmarshalJSON accepts "500m" as well as a bare number (cpu: 2), keeping
// the text; whether it parses is checked by validation, which knows the line.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &q.Raw)
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	q.Raw = n.String()
	return nil
}
