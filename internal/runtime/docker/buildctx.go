package docker

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// contextTar writes the build context dir to w as a tar stream: regular files, directories
// and symbolic links (other kinds of files are left out), owned by root, without what
// dir/.dockerignore excludes. The Dockerfile (dockerfile, a slash path relative to dir) and
// .dockerignore are always sent, as the docker CLI does.
//
// .dockerignore follows Docker's rules for the common cases: one pattern per line, '#'
// starts a comment, '*' and '?' match within one path element, '**' any number of them,
// '[...]' a class; a pattern matches a path or any of its parent directories; '!' makes an
// exception; the last matching line decides.
func contextTar(w io.Writer, dir, dockerfile string) error {
	ign, err := readDockerignore(filepath.Join(dir, ".dockerignore"))
	if err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != dockerfile && rel != ".dockerignore" && ign.excluded(rel) {
			if e.IsDir() && !ign.hasExceptions {
				return filepath.SkipDir
			}
			return nil
		}
		return addToTar(tw, p, rel, e)
	})
	if err != nil {
		return fmt.Errorf("build context %s: %w", dir, err)
	}
	return tw.Close()
}

func addToTar(tw *tar.Writer, p, rel string, e fs.DirEntry) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	link := ""
	switch mode := info.Mode(); {
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	case mode.IsDir(), mode.IsRegular():
	default:
		return nil // sockets, devices, pipes: nothing a build can use
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.AccessTime, hdr.ChangeTime = hdr.ModTime, hdr.ModTime
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// ignorePattern is one line of a .dockerignore.
type ignorePattern struct {
	re        *regexp.Regexp
	exception bool
}

type dockerignore struct {
	patterns      []ignorePattern
	hasExceptions bool
}

func readDockerignore(file string) (*dockerignore, error) {
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &dockerignore{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ign := &dockerignore{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		p := ignorePattern{}
		if strings.HasPrefix(line, "!") {
			p.exception, line = true, strings.TrimSpace(line[1:])
			ign.hasExceptions = true
		}
		line = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(line)), "/")
		if p.re, err = globRegexp(line); err != nil {
			return nil, fmt.Errorf("%s:%d: %q: %w", file, n, sc.Text(), err)
		}
		ign.patterns = append(ign.patterns, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return ign, nil
}

// excluded reports whether rel (a slash path) is left out of the context.
func (ign *dockerignore) excluded(rel string) bool {
	out := false
	for _, p := range ign.patterns {
		for q := rel; ; q = path.Dir(q) { // rel and each of its parent directories
			if p.re.MatchString(q) {
				out = !p.exception
				break
			}
			if !strings.Contains(q, "/") {
				break
			}
		}
	}
	return out
}

// globRegexp translates a .dockerignore pattern into an anchored regular expression.
func globRegexp(glob string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			if strings.HasPrefix(glob[i:], "**") {
				i++
				if strings.HasPrefix(glob[i+1:], "/") {
					i++
					b.WriteString("(.*/)?") // "**/" is zero or more directories
				} else {
					b.WriteString(".*")
				}
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			end := strings.IndexByte(glob[i+1:], ']')
			if end < 0 {
				return nil, errors.New("unterminated '['")
			}
			class := glob[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += end + 1
		case '\\':
			if i+1 < len(glob) {
				i++
			}
			b.WriteString(regexp.QuoteMeta(glob[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
