package signals

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram is geometric: bucket i (for i < NumBuckets-1) holds durations in
// (BucketUpperBound(i-1), BucketUpperBound(i)], where the bounds start at 10µs and grow by a
// factor of 2^(1/4) (about 19%) per bucket. Four buckets per octave keep any quantile read
// from the histogram within one bucket width of the truth, while the whole range up to a
// minute fits in under a hundred counters. The last bucket catches everything above.
const (
	// NumBuckets is the number of latency buckets: 92 finite ones (10µs up to about 70.5s)
	// and one overflow bucket.
	NumBuckets = finiteBuckets + 1

	finiteBuckets    = 92
	firstBoundNanos  = 10_000 // 10µs: the upper bound of bucket 0
	bucketsPerOctave = 4

	// subBits is how many bits below the leading one of a duration select a row of
	// bucketTable. With 3 bits a row spans a ratio of at most 9/8, less than the 2^(1/4)
	// between two bounds, so at most one bound falls inside a row and bucketIndex needs at
	// most one comparison after the lookup.
	subBits = 3
)

// bucketBounds holds the inclusive upper bound of each bucket in nanoseconds; the overflow
// bucket's bound is MaxUint64 so that a comparison against it never moves past it.
// bucketTable maps (bit length, next subBits bits) of a duration to the first bucket whose
// bound is at least the smallest duration with that prefix. Both are computed once and
// never written again.
var (
	bucketBounds = computeBounds()
	bucketTable  = computeTable(&bucketBounds)
)

func computeBounds() [NumBuckets]uint64 {
	var b [NumBuckets]uint64
	for i := range finiteBuckets {
		b[i] = uint64(math.Round(firstBoundNanos * math.Exp2(float64(i)/bucketsPerOctave)))
	}
	b[finiteBuckets] = math.MaxUint64
	return b
}

func computeTable(bounds *[NumBuckets]uint64) *[64 << subBits]uint8 {
	var t [64 << subBits]uint8
	for length := subBits + 1; length <= 64; length++ {
		for sub := range uint64(1 << subBits) {
			// The smallest value whose bit length is length and whose next subBits bits are sub.
			low := (1<<subBits | sub) << (length - 1 - subBits)
			i := 0
			for bounds[i] < low {
				i++
			}
			t[(length-1)<<subBits|int(sub)] = uint8(i)
		}
	}
	return &t
}

// BucketUpperBound returns the inclusive upper bound of latency bucket i. For the overflow
// bucket (NumBuckets-1) and for indexes out of range it returns math.MaxInt64; for a negative
// index it returns 0.
func BucketUpperBound(i int) time.Duration {
	if i < 0 {
		return 0
	}
	if i >= finiteBuckets {
		return math.MaxInt64
	}
	return time.Duration(bucketBounds[i])
}

// bucketLowerBound returns the exclusive lower bound of bucket i, which is the upper bound of
// the bucket before it (0 for bucket 0).
func bucketLowerBound(i int) time.Duration {
	if i <= 0 {
		return 0
	}
	return BucketUpperBound(i - 1)
}

// bucketIndex returns the bucket that d falls into. It runs on the request path: one table
// lookup and at most one comparison, no loop. Negative durations count as zero.
func bucketIndex(d time.Duration) int {
	if d <= firstBoundNanos {
		return 0
	}
	n := uint64(d)
	length := bits.Len64(n) // ≥ 14 because n > 10,000
	sub := (n >> (length - 1 - subBits)) & (1<<subBits - 1)
	i := int(bucketTable[(length-1)<<subBits|int(sub)])
	if n > bucketBounds[i] {
		i++
	}
	return i
}
