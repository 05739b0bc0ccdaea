package stats

import (
	"math/big"
	"strconv"
)

// Decimal is a number with two decimals, held as an integer count of hundredths (SPEC §5.10).
type Decimal int64

// Ratio returns num/den × scale rounded half away from zero to 2 decimals; 0 when den is 0. The computation is
// exact for any int64 inputs.
func Ratio(num, den, scale int64) Decimal {
	if den == 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(num), big.NewInt(scale*100))
	return roundQuo(n, big.NewInt(den))
}

// RatRound rounds an exact rational half away from zero to hundredths.
func RatRound(r *big.Rat) Decimal {
	n := new(big.Int).Mul(r.Num(), big.NewInt(100))
	return roundQuo(n, new(big.Int).Set(r.Denom()))
}

func roundQuo(n, d *big.Int) Decimal {
	neg := (n.Sign() < 0) != (d.Sign() < 0)
	n.Abs(n)
	d.Abs(d)
	// floor((2n + d) / 2d) rounds half up on magnitudes, i.e. half away from zero.
	q := new(big.Int).Add(new(big.Int).Lsh(n, 1), d)
	q.Quo(q, new(big.Int).Lsh(d, 1))
	v := q.Int64()
	if neg {
		v = -v
	}
	return Decimal(v)
}

// String formats the value in shortest form: 100, 97.5, 13.89, 0, -31.43.
func (d Decimal) String() string {
	v := int64(d)
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	whole, frac := v/100, v%100
	switch {
	case frac == 0:
		return sign + strconv.FormatInt(whole, 10)
	case frac%10 == 0:
		return sign + strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(frac/10, 10)
	case frac < 10:
		return sign + strconv.FormatInt(whole, 10) + ".0" + strconv.FormatInt(frac, 10)
	}
	return sign + strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(frac, 10)
}

// MarshalJSON writes the shortest decimal form.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }
