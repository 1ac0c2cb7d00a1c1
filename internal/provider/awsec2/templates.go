package awsec2

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// LaunchTemplateData is what instances launched from a template get.
type LaunchTemplateData struct {
	ImageID        string
	InstanceType   string
	UserData       string // plain text; the client base64-encodes it
	SecurityGroups []string
	// InstanceProfile is the instances' IAM instance profile, an ARN or a name; "" for none.
	InstanceProfile string
	// IMDSv2 makes the instance metadata service require session tokens
	// (MetadataOptions.HttpTokens=required), as AWS recommends.
	IMDSv2 bool
}

// CreateLaunchTemplateInput names a new launch template.
type CreateLaunchTemplateInput struct {
	Name        string
	Description string // the first version's description
	// ClientToken makes a repeated create return the template the first made (AWS
	// honours it; moto answers InvalidLaunchTemplateName.AlreadyExistsException).
	ClientToken string
	Data        LaunchTemplateData
	Tags        map[string]string // on the template itself
}

// LaunchTemplate is a launch template as EC2 describes it.
type LaunchTemplate struct {
	ID, Name       string
	DefaultVersion int64
	LatestVersion  int64
	Tags           map[string]string
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xmlTemplate struct {
	ID      string   `xml:"launchTemplateId"`
	Name    string   `xml:"launchTemplateName"`
	Default int64    `xml:"defaultVersionNumber"`
	Latest  int64    `xml:"latestVersionNumber"`
	Tags    []xmlTag `xml:"tagSet>item"`
}

func (x xmlTemplate) template() LaunchTemplate {
	t := LaunchTemplate{ID: x.ID, Name: x.Name, DefaultVersion: x.Default, LatestVersion: x.Latest, Tags: map[string]string{}}
	for _, tag := range x.Tags {
		t.Tags[tag.Key] = tag.Value
	}
	return t
}

// CreateLaunchTemplate creates a launch template with one version.
func (c *Client) CreateLaunchTemplate(ctx context.Context, in CreateLaunchTemplateInput) (LaunchTemplate, error) {
	p := url.Values{"LaunchTemplateName": {in.Name}}
	set := func(k, v string) {
		if v != "" {
			p.Set(k, v)
		}
	}
	set("VersionDescription", in.Description)
	set("ClientToken", in.ClientToken)
	set("LaunchTemplateData.ImageId", in.Data.ImageID)
	set("LaunchTemplateData.InstanceType", in.Data.InstanceType)
	if in.Data.UserData != "" {
		p.Set("LaunchTemplateData.UserData", base64.StdEncoding.EncodeToString([]byte(in.Data.UserData)))
	}
	for i, sg := range in.Data.SecurityGroups {
		p.Set("LaunchTemplateData.SecurityGroupId."+strconv.Itoa(i+1), sg)
	}
	switch ip := in.Data.InstanceProfile; {
	case strings.HasPrefix(ip, "arn:"):
		p.Set("LaunchTemplateData.IamInstanceProfile.Arn", ip)
	case ip != "":
		p.Set("LaunchTemplateData.IamInstanceProfile.Name", ip)
	}
	if in.Data.IMDSv2 {
		p.Set("LaunchTemplateData.MetadataOptions.HttpTokens", "required")
		p.Set("LaunchTemplateData.MetadataOptions.HttpEndpoint", "enabled")
	}
	if len(in.Tags) > 0 {
		p.Set("TagSpecification.1.ResourceType", "launch-template")
		keys := make([]string, 0, len(in.Tags))
		for k := range in.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			n := "TagSpecification.1.Tag." + strconv.Itoa(i+1)
			p.Set(n+".Key", k)
			p.Set(n+".Value", in.Tags[k])
		}
	}
	var out struct {
		T xmlTemplate `xml:"launchTemplate"`
	}
	if err := c.Do(ctx, "CreateLaunchTemplate", p, &out); err != nil {
		return LaunchTemplate{}, err
	}
	return out.T.template(), nil
}

// DescribeLaunchTemplate returns the launch template called name; an error for which
// NotFound is true when there is none.
func (c *Client) DescribeLaunchTemplate(ctx context.Context, name string) (LaunchTemplate, error) {
	var out struct {
		Ts []xmlTemplate `xml:"launchTemplates>item"`
	}
	if err := c.Do(ctx, "DescribeLaunchTemplates", url.Values{"LaunchTemplateName.1": {name}}, &out); err != nil {
		return LaunchTemplate{}, err
	}
	for _, t := range out.Ts {
		if t.Name == name {
			return t.template(), nil
		}
	}
	return LaunchTemplate{}, &APIError{Action: "DescribeLaunchTemplates", Status: 400, Code: "InvalidLaunchTemplateName.NotFoundException",
		Message: fmt.Sprintf("launch template %q does not exist", name)}
}

// DeleteLaunchTemplate deletes the launch template id with all its versions.
func (c *Client) DeleteLaunchTemplate(ctx context.Context, id string) error {
	return c.Do(ctx, "DeleteLaunchTemplate", url.Values{"LaunchTemplateId": {id}}, nil)
}

// Image is an AMI as EC2 describes it.
type Image struct {
	ID    string `xml:"imageId"`
	Name  string `xml:"name"`
	State string `xml:"imageState"` // "available" when it can launch
}

// DescribeImage returns the AMI id; an error for which NotFound is true when the account
// cannot see it (EC2's own InvalidAMIID.NotFound, or an empty answer).
func (c *Client) DescribeImage(ctx context.Context, id string) (Image, error) {
	var out struct {
		Images []Image `xml:"imagesSet>item"`
	}
	if err := c.Do(ctx, "DescribeImages", url.Values{"ImageId.1": {id}}, &out); err != nil {
		return Image{}, err
	}
	for _, im := range out.Images {
		if im.ID == id {
			return im, nil
		}
	}
	return Image{}, &APIError{Action: "DescribeImages", Status: 400, Code: "InvalidAMIID.NotFound",
		Message: fmt.Sprintf("The image id '[%s]' does not exist", id)}
}
