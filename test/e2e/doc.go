// Package e2e drives the real keyless binary, started the way users start
// it (keyless serve --config examples/quickstart.yaml), with real AWS
// clients: aws-sdk-go-v2 in process, the AWS CLI v1 and v2, boto3, and
// @aws-sdk/client-sts under Node. With CI=true a missing client fails the
// suite instead of skipping.
package e2e
