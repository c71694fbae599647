package main

import (
	"math/rand/v2"
	"sort"
)

// sample is a uniform reservoir of one figure (at most 2048 values) with its count and mean:
// enough for a p50 and a p99 of per-batch figures without keeping every batch.
type sample struct {
	count int64
	sum   float64
	vals  []float64
}

const reservoir = 2048

func (s *sample) add(v float64) {
	s.count++
	s.sum += v
	if len(s.vals) < reservoir {
		s.vals = append(s.vals, v)
		return
	}
	if i := rand.Int64N(s.count); i < reservoir {
		s.vals[i] = v
	}
}

func (s *sample) summary() map[string]any {
	sorted := append([]float64(nil), s.vals...)
	sort.Float64s(sorted)
	at := func(q float64) float64 { return sorted[int(q*float64(len(sorted)-1))] }
	return map[string]any{"count": s.count, "mean": s.sum / float64(s.count), "p50": at(0.5), "p99": at(0.99)}
}
