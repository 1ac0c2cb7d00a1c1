package awsec2

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/cutover/cutover/internal/provider/awstest"
)

// TestLaunchTemplateLifecycleOnMoto: create with tags and user data, describe by name,
// refuse a second of that name, delete, and then not found.
func TestLaunchTemplateLifecycleOnMoto(t *testing.T) {
	m := awstest.Start(t)
	c := New(m.Config(), nil)
	ctx := awstest.Ctx(t)
	if _, err := c.DescribeLaunchTemplate(ctx, "web-v1"); !NotFound(err) {
		t.Fatalf("describe of no template = %v, want not found", err)
	}
	in := CreateLaunchTemplateInput{Name: "web-v1", Description: "v1", ClientToken: "cutover-web-v1",
		Data: LaunchTemplateData{ImageID: "ami-760aaa0f", InstanceType: "t3.micro", UserData: "#!/bin/sh\necho v1\n", IMDSv2: true, InstanceProfile: "web-instance"},
		Tags: map[string]string{"cutover.owner": "cutover/web", "cutover.version": "v1"}}
	lt, err := c.CreateLaunchTemplate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lt.ID, "lt-") || lt.Name != "web-v1" || lt.DefaultVersion != 1 || lt.Tags["cutover.version"] != "v1" {
		t.Fatalf("created %+v", lt)
	}
	got, err := c.DescribeLaunchTemplate(ctx, "web-v1")
	if err != nil || got.ID != lt.ID || got.Tags["cutover.owner"] != "cutover/web" {
		t.Fatalf("describe = %+v %v, want %+v", got, err, lt)
	}
	var ver struct {
		Data struct {
			Image    string `xml:"imageId"`
			UserData string `xml:"userData"`
			Tokens   string `xml:"metadataOptions>httpTokens"`
			Profile  string `xml:"iamInstanceProfile>name"`
		} `xml:"launchTemplateVersionSet>item>launchTemplateData"`
	}
	if err := c.Do(ctx, "DescribeLaunchTemplateVersions", url.Values{"LaunchTemplateId": {lt.ID}}, &ver); err != nil {
		t.Fatal(err)
	}
	ud, _ := base64.StdEncoding.DecodeString(ver.Data.UserData)
	if ver.Data.Image != "ami-760aaa0f" || string(ud) != "#!/bin/sh\necho v1\n" || ver.Data.Tokens != "required" || ver.Data.Profile != "web-instance" {
		t.Fatalf("the template's data is %+v (user data %q)", ver.Data, ud)
	}
	_, err = c.CreateLaunchTemplate(ctx, in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || !strings.Contains(ae.ErrorCode(), "AlreadyExists") {
		t.Fatalf("second create = %v, want an AlreadyExists API error", err)
	}
	if err := c.DeleteLaunchTemplate(ctx, lt.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DescribeLaunchTemplate(ctx, "web-v1"); !NotFound(err) {
		t.Fatalf("describe after delete = %v, want not found", err)
	}
	if err := c.DeleteLaunchTemplate(ctx, lt.ID); !NotFound(err) {
		t.Fatalf("second delete = %v, want not found", err)
	}
}

// TestDescribeImageOnMoto: moto knows ami-760aaa0f; an unknown AMI is EC2's own
// InvalidAMIID.NotFound, with AWS's message.
func TestDescribeImageOnMoto(t *testing.T) {
	m := awstest.Start(t)
	c := New(m.Config(), nil)
	ctx := awstest.Ctx(t)
	im, err := c.DescribeImage(ctx, "ami-760aaa0f")
	if err != nil || im.ID != "ami-760aaa0f" || im.State != "available" {
		t.Fatalf("DescribeImage = %+v %v", im, err)
	}
	_, err = c.DescribeImage(ctx, "ami-0123456789abcdef0")
	var ae *APIError
	if !NotFound(err) || !errors.As(err, &ae) || ae.Code != "InvalidAMIID.NotFound" || !strings.Contains(ae.Message, "does not exist") {
		t.Fatalf("DescribeImage of an unknown AMI = %v, want InvalidAMIID.NotFound", err)
	}
}

// TestRetriesThrottlingAndSigns: a throttled call is retried and succeeds; every attempt
// is signed for ec2 in the config's region; a client error is not retried.
func TestRetriesThrottlingAndSigns(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if a := r.Header.Get("Authorization"); !strings.Contains(a, "/eu-west-1/ec2/aws4_request") {
			t.Errorf("attempt %d is signed %q", n, a)
		}
		_ = r.ParseForm()
		switch {
		case r.Form.Get("Action") == "DeleteLaunchTemplate":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>InvalidLaunchTemplateId.Malformed</Code><Message>bad id</Message></Error></Errors><RequestID>r1</RequestID></Response>`))
		case n == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>`))
		default:
			_, _ = w.Write([]byte(`<DescribeImagesResponse><imagesSet><item><imageId>ami-1</imageId><imageState>available</imageState></item></imagesSet></DescribeImagesResponse>`))
		}
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "secret"}, nil
	})}
	c := New(cfg, srv.Client())
	c.backoff = time.Millisecond
	if im, err := c.DescribeImage(context.Background(), "ami-1"); err != nil || im.ID != "ami-1" || calls.Load() != 2 {
		t.Fatalf("DescribeImage = %+v %v after %d calls, want ami-1 after 2", im, err, calls.Load())
	}
	calls.Store(10)
	err := c.DeleteLaunchTemplate(context.Background(), "nope")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "InvalidLaunchTemplateId.Malformed" || ae.RequestID != "r1" || calls.Load() != 11 {
		t.Fatalf("DeleteLaunchTemplate = %v after %d calls, want one Malformed", err, calls.Load()-10)
	}
}

// TestDefaultEndpoint is EC2's regional endpoint unless the config names one.
func TestDefaultEndpoint(t *testing.T) {
	for _, c := range []struct {
		cfg  aws.Config
		want string
	}{
		{aws.Config{Region: "eu-west-1"}, "https://ec2.eu-west-1.amazonaws.com/"},
		{aws.Config{Region: "cn-north-1"}, "https://ec2.cn-north-1.amazonaws.com.cn/"},
		{aws.Config{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:5000/")}, "http://127.0.0.1:5000/"},
	} {
		if got := New(c.cfg, nil).endpoint; got != c.want {
			t.Errorf("endpoint of %+v = %s, want %s", c.cfg, got, c.want)
		}
	}
}
