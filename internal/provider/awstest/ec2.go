package awstest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// DefaultSubnets returns moto's default VPC and two of its subnets, through a signed EC2
// Query call (the SDK's EC2 module is too large to link for two calls).
func (m *Moto) DefaultSubnets(t *testing.T) (vpc string, subnets []string) {
	t.Helper()
	var out struct {
		Subnets []struct {
			ID  string `xml:"subnetId"`
			VPC string `xml:"vpcId"`
			Def bool   `xml:"defaultForAz"`
		} `xml:"subnetSet>item"`
	}
	m.ec2(t, url.Values{"Action": {"DescribeSubnets"}, "Version": {"2016-11-15"}}, &out)
	for _, s := range out.Subnets {
		if s.Def && (vpc == "" || s.VPC == vpc) && len(subnets) < 2 {
			vpc, subnets = s.VPC, append(subnets, s.ID)
		}
	}
	if len(subnets) < 2 {
		t.Fatalf("moto has no two default subnets: %+v", out)
	}
	return vpc, subnets
}

func (m *Moto) ec2(t *testing.T, form url.Values, v any) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest(http.MethodPost, m.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sum := sha256.Sum256([]byte(body))
	creds, err := m.Config().Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ec2", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ec2 %s: %v", form.Get("Action"), err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ec2 %s: %s %s", form.Get("Action"), resp.Status, b)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		t.Fatalf("ec2 %s: decode: %v", form.Get("Action"), err)
	}
}

// DefaultSecurityGroup returns the ID of vpc's security group named "default".
func (m *Moto) DefaultSecurityGroup(t *testing.T, vpc string) string {
	t.Helper()
	var out struct {
		Groups []struct {
			ID   string `xml:"groupId"`
			Name string `xml:"groupName"`
			VPC  string `xml:"vpcId"`
		} `xml:"securityGroupInfo>item"`
	}
	m.ec2(t, url.Values{"Action": {"DescribeSecurityGroups"}, "Version": {"2016-11-15"}}, &out)
	for _, g := range out.Groups {
		if g.Name == "default" && g.VPC == vpc {
			return g.ID
		}
	}
	t.Fatalf("moto has no default security group in %s: %+v", vpc, out)
	return ""
}
