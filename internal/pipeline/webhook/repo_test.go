package webhook

import "testing"

func TestSameRepo(t *testing.T) {
	t.Parallel()
	const spec = "https://github.com/acme/shop"
	tests := []struct {
		payload, url string
		want         bool
	}{
		{"https://github.com/acme/shop.git", spec, true},
		{"git@github.com:acme/shop.git", spec, true},
		{"ssh://git@github.com/acme/shop.git", spec, true},
		{"git://github.com/acme/shop.git", spec, true},
		{"http://github.com/acme/shop", spec, true},
		{"https://github.com/acme/shop/", spec, true},
		{"https://github.com/acme/shop.git/", spec, true},
		{"https://x-access-token:abc@github.com/acme/shop.git", spec, true},
		{"https://github.com/acme/shop", "HTTPS://GitHub.COM/Acme/Shop.git", true},
		{"https://github.com/acme/shop", "github.com/acme/shop", true},
		{"https://github.com/acme/shop", "git@github.com:/acme/shop.git", true},
		{"https://github.com/acme/shop?tab=readme#top", spec, true},
		{"ssh://git@git.example.org:2222/acme/shop.git", "https://git.example.org:3000/acme/shop", true},
		{"git@gitlab.example.com:acme/platform/shop.git", "https://gitlab.example.com/acme/platform/shop", true},

		{"https://github.com/other/shop.git", spec, false},
		{"git@github.com:other/shop.git", spec, false},
		{"https://github.com/acme/shop-api.git", spec, false},
		{"https://github.com/acme/shop/wiki", spec, false},
		{"https://gitlab.com/acme/shop.git", spec, false},
		{"git@gitlab.com:acme/shop.git", spec, false},
		{"https://github.com.evil.example/acme/shop", spec, false},
		{"https://api.github.com/repos/acme/shop", spec, false},
		{"https://gitlab.example.com/acme/shop", "https://gitlab.example.com/acme/platform/shop", false},
		{"https://github.com/", "https://github.com", false},
		{"", "", false},
		{"", spec, false},
		{"shop", "shop", false},
		{"https://github.com/%zz", "https://github.com/%zz", false},

		{"/srv/git/shop.git", "file:///srv/git/shop.git", true},
		{"/srv/git/shop.git/", "/srv/git/./shop.git", true},
		{"/srv/git/../git/shop", "/srv/git/shop", true},
		{"./shop", "shop/.", false},
		{"./shop", "./shop/", true},
		{"/srv/git/shop", "/srv/git/other", false},
		{"/srv/git/shop.git", "/srv/git/shop", false},
		{"/srv/git/Shop", "/srv/git/shop", false},
		{"/acme/shop", spec, false},
		{"file:///acme/shop", "github.com/acme/shop", false},
		{`C:\repos\shop`, `C:\repos\shop`, true},
	}
	for _, tt := range tests {
		if got := SameRepo(tt.payload, tt.url); got != tt.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v", tt.payload, tt.url, got, tt.want)
		}
		if got := SameRepo(tt.url, tt.payload); got != tt.want {
			t.Errorf("SameRepo(%q, %q) = %v, want %v (swapped)", tt.url, tt.payload, got, tt.want)
		}
	}
}
