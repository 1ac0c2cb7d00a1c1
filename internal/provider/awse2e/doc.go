// Package awse2e holds end-to-end tests of the AWS providers together against a real
// moto_server: an ECS service behind an ALB with CloudWatch alarms, driven through the
// provider ports the way the engine drives them. It has no code of its own.
package awse2e
