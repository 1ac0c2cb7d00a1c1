package router

import (
	"net/http"
	"net/http/cookiejar"
	"sync"
	"testing"
)

func TestSplitAccuracyOverDistinctClients(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	for _, weight := range []int{1000, 5000, 9000} {
		tr := startRouter(t, Options{}, appTable([]*testInstance{blue}, []*testInstance{green}, weight))
		const n = 10000
		var greens, fails int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		c := newClient() // no cookie jar: every request is a new client
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var g, f int64
				for i := 0; i < n/16; i++ {
					resp, err := c.Get(tr.url + "/")
					if err != nil {
						f++
						continue
					}
					body := readAll(resp)
					switch {
					case resp.StatusCode != 200:
						f++
					case body == "green":
						g++
					}
				}
				mu.Lock()
				greens += g
				fails += f
				mu.Unlock()
			}()
		}
		wg.Wait()
		total := int64(n / 16 * 16)
		got := float64(greens) * 100 / float64(total)
		want := float64(weight) / 100
		t.Logf("weight %.0f%%: green got %.2f%% of %d requests", want, got, total)
		if fails != 0 {
			t.Errorf("weight %v: %d failed requests", want, fails)
		}
		if got < want-2 || got > want+2 {
			t.Errorf("weight %.0f%%: green share %.2f%%, want within ±2 points", want, got)
		}
	}
}

func TestStickyClientsKeepTheirVersion(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	tr := startRouter(t, Options{}, appTable([]*testInstance{blue}, []*testInstance{green}, 2000))
	const clients = 100
	jars := make([]*http.Client, clients)
	first := make([]string, clients)
	for i := range jars {
		jar, _ := cookiejar.New(nil)
		jars[i] = &http.Client{Jar: jar, Transport: newClient().Transport}
		_, first[i] = get(t, jars[i], tr.url+"/")
	}
	greens := 0
	for i, c := range jars {
		for k := 0; k < 10; k++ {
			if _, v := get(t, c, tr.url+"/"); v != first[i] {
				t.Fatalf("client %d moved from %s to %s while the weight held", i, first[i], v)
			}
		}
		if first[i] == "green" {
			greens++
		}
	}
	if greens == 0 || greens == clients {
		t.Fatalf("all %d clients on one version (%d green) at a 20%% weight", clients, greens)
	}
	// Raising the weight moves only blue clients to green, never green ones back.
	for _, w := range []int{4000, 6000, 8000} {
		tbl := appTable([]*testInstance{blue}, []*testInstance{green}, w)
		if err := tr.Apply(tbl); err != nil {
			t.Fatal(err)
		}
		moved := 0
		for i, c := range jars {
			_, v := get(t, c, tr.url+"/")
			if first[i] == "green" && v != "green" {
				t.Fatalf("weight %d: client %d went back from green to %s", w, i, v)
			}
			if v != first[i] {
				moved++
				first[i] = v
			}
			for k := 0; k < 3; k++ {
				if _, again := get(t, c, tr.url+"/"); again != v {
					t.Fatalf("weight %d: client %d flipped between %s and %s", w, i, v, again)
				}
			}
		}
		t.Logf("weight %d: %d clients moved to green", w, moved)
	}
}

func TestOverrideHeaderAndCookie(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	tbl := appTable([]*testInstance{blue}, []*testInstance{green}, 0)
	tr := startRouter(t, Options{}, tbl)
	c := newClient()
	if _, v := get(t, c, tr.url+"/", "X-Cutover-Version", "green"); v != "green" {
		t.Fatalf("header override: got %s, want green", v)
	}
	if _, v := get(t, c, tr.url+"/", "Cookie", "cutover-version=green"); v != "green" {
		t.Fatalf("cookie override: got %s, want green", v)
	}
	tbl.Apps[0].GreenWeight = 10000
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	if _, v := get(t, c, tr.url+"/", "X-Cutover-Version", "blue"); v != "blue" {
		t.Fatalf("header override to blue at 100%% green: got %s", v)
	}
	tbl.Apps[0].Override.Disabled = true
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if _, v := get(t, c, tr.url+"/", "X-Cutover-Version", "blue", "Cookie", "cutover-version=blue"); v != "green" {
			t.Fatalf("disabled override still honoured: got %s", v)
		}
	}
}

func TestTestListenerReachesOnlyGreen(t *testing.T) {
	blue, green := startInstance(t, "blue", nil), startInstance(t, "green", nil)
	tbl := appTable([]*testInstance{blue}, []*testInstance{green}, 0)
	tbl.Listeners = append(tbl.Listeners, Listener{Addr: "127.0.0.2:0"})
	tbl.Apps[0].TestListener = "127.0.0.2:0"
	tr := startRouter(t, Options{}, tbl)
	testURL := "http://" + tr.bound(t, "127.0.0.2:0")
	c := newClient()
	for i := 0; i < 200; i++ {
		if _, v := get(t, c, testURL+"/", "X-Cutover-Version", "blue"); v != "green" {
			t.Fatalf("test listener request %d reached %s", i, v)
		}
		if _, v := get(t, c, tr.url+"/"); v != "blue" {
			t.Fatalf("production request %d at weight 0 reached %s", i, v)
		}
	}
	// Without green the test listener answers 503, not blue.
	tbl.Apps[0].Green = Pool{}
	if err := tr.Apply(tbl); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, c, testURL+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("test listener without green: status %d, want 503", code)
	}
}
