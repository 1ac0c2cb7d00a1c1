package router

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"testing"
)

// TestRebalanceSplitsBlueClientsAgain: 16 sticky clients all on blue's side at 10% (each
// holding a bucket above the weight) stay on blue until the table asks for a re-balance;
// then the blue clients are split again by the fair sequence (1 or 2 of 16 to green, never
// 0), green's clients keep their bucket, and everyone sticks to the new assignment.
func TestRebalanceSplitsBlueClientsAgain(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	tbl := appTable([]*testInstance{blue}, []*testInstance{green}, 1000)
	tr := startRouter(t, Options{}, tbl)
	u, _ := url.Parse(tr.url)
	const clients = 16
	jars := make([]*http.Client, clients)
	for i := range jars {
		jar, _ := cookiejar.New(nil)
		b := 1000 + i*500 // all on blue's side of 10%
		if i == 0 {
			b = 42 // one already green's: a re-balance must not move it
		}
		jar.SetCookies(u, []*http.Cookie{{Name: "cutover-bucket-web", Value: strconv.Itoa(b)}})
		jars[i] = &http.Client{Jar: jar, Transport: newClient().Transport}
	}
	versions := func() (greens int, of []string) {
		for _, c := range jars {
			_, v := get(t, c, tr.url+"/")
			of = append(of, v)
			if v == "green" {
				greens++
			}
		}
		return greens, of
	}
	if g, _ := versions(); g != 1 {
		t.Fatalf("before the re-balance %d clients on green, want only the one with bucket 42", g)
	}
	tbl.Apps[0].Rebalance = 1700000000
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	g, first := versions()
	if first[0] != "green" {
		t.Fatal("the client already in green's cohort was moved by the re-balance")
	}
	// 15 blue clients split again at 10%: 1 or 2 more on green.
	if g < 2 || g > 3 {
		t.Fatalf("after the re-balance %d clients on green (%v), want 2 or 3 (the first plus 1 or 2 of 15)", g, first)
	}
	for k := 0; k < 3; k++ {
		if _, again := versions(); !equal(again, first) {
			t.Fatalf("clients moved again after the re-balance: %v then %v", first, again)
		}
	}
	// A second re-balance at the same generation changes nothing.
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	if _, again := versions(); !equal(again, first) {
		t.Fatalf("re-applying the same generation moved clients: %v then %v", first, again)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCookieBucketGeneration(t *testing.T) {
	for v, want := range map[string][3]int64{
		"42": {42, 0, 1}, "42.1700000000": {42, 1700000000, 1}, "42.": {0, 0, 0}, "42.-1": {0, 0, 0},
		"10000": {0, 0, 0}, "x.1": {0, 0, 0}, "7.8.9": {0, 0, 0},
	} {
		r := &http.Request{Header: http.Header{"Cookie": {"cutover-bucket-web=" + v}}}
		b, g, ok := cookieBucket(r, "cutover-bucket-web")
		if int64(b) != want[0] || g != want[1] || ok != (want[2] == 1) {
			t.Errorf("cookieBucket(%q) = %d, %d, %v; want %v", v, b, g, ok, want)
		}
	}
	if got := bucketCookie("c", 42, 17); got != "c=42.17; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax" {
		t.Errorf("bucketCookie = %q", got)
	}
}
