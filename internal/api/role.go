package api

import "crypto/subtle"

// TokenRole is the role a presented token gives against the server's admin and read-only
// (viewer) tokens: RoleAdmin, RoleViewer, or "" for neither. An empty token of the server's
// (no such token) matches nothing. Both are compared in constant time, always both, so the
// time taken does not tell which one a guess came closer to. The API's bearer check and the
// dashboard's login share it.
func TokenRole(got, admin, viewer []byte) string {
	isAdmin := subtle.ConstantTimeCompare(got, admin) == 1 && len(admin) > 0
	isViewer := subtle.ConstantTimeCompare(got, viewer) == 1 && len(viewer) > 0
	switch {
	case isAdmin:
		return RoleAdmin
	case isViewer:
		return RoleViewer
	}
	return ""
}
