//go:build !unix

package agent

import "os"

// fileID has no inode to offer here; rotation by rename is then noticed
// only when the file at the path is smaller than the offset.
func fileID(fi os.FileInfo) (dev, ino uint64) { return 0, 0 }
