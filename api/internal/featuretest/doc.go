// Package featuretest serves api features in their packages' tests
// (api/detectionapi, api/rlapi, api/compressapi): an api.Server on a
// loopback httptest server, and JSON requests decoded as api answers them.
package featuretest
