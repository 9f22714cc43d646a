package ltest

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// MeanCI returns the mean of x and the half-width of its two-sided 95%
// confidence interval from Student's t-distribution:
//
//	mean = sum(x) / n
//	s    = sqrt(sum((x - mean)^2) / (n - 1))       (sample standard deviation)
//	half = t(0.975, n-1) * s / sqrt(n)
//
// where t(0.975, n-1) is the 0.975 quantile of Student's t with n-1
// degrees of freedom; the interval is [mean-half, mean+half]. With fewer
// than two values the half-width is NaN (no interval), and with none the
// mean is NaN too.
func MeanCI(x []float64) (mean, half float64) {
	n := len(x)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	if n < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	s := math.Sqrt(ss / float64(n-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Quantile(0.975)
	return mean, t * s / math.Sqrt(float64(n))
}

// BinomialTest returns the two-sided p-value of the exact binomial test
// of k successes in n trials against success probability p, as R's
// binom.test computes it: the sum of the probabilities of every outcome
// no more likely than k,
//
//	p-value = sum over i in 0..n with P(i) <= P(k)*(1+1e-7) of P(i),
//	P(i)    = C(n, i) p^i (1-p)^(n-i)
//
// (the 1+1e-7 absorbs rounding of equal probabilities), capped at 1. For
// p = 0.5 this is twice the smaller tail. With n = 0 it is 1.
func BinomialTest(k, n int, p float64) float64 {
	if n <= 0 {
		return 1
	}
	d := binomPMF(k, n, p) * (1 + 1e-7)
	var sum float64
	for i := 0; i <= n; i++ {
		if q := binomPMF(i, n, p); q <= d {
			sum += q
		}
	}
	return math.Min(1, sum)
}

// binomPMF is C(n, k) p^k (1-p)^(n-k), through log-gamma so that large n
// does not overflow.
func binomPMF(k, n int, p float64) float64 {
	if k < 0 || k > n {
		return 0
	}
	switch p {
	case 0:
		if k == 0 {
			return 1
		}
		return 0
	case 1:
		if k == n {
			return 1
		}
		return 0
	}
	ln, _ := math.Lgamma(float64(n + 1))
	lk, _ := math.Lgamma(float64(k + 1))
	lnk, _ := math.Lgamma(float64(n - k + 1))
	return math.Exp(ln - lk - lnk + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}
