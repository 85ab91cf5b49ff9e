// Command mc is a stand-in for the MinIO client (quay.io/minio/mc) in the node verification: the
// proxy refuses mc's release pseudo-version. It implements the commands the platform's scripts
// run (charts/milvus/assets: provision.sh, backup-bucket.sh, restore-bucket.sh), with MinIO's own
// client libraries (minio-go, madmin-go at the versions the platform's MinIO release requires),
// each decided as the pinned mc release (RELEASE.2023-03-20T17-17-53Z) decides it:
//
//	mc [--config-dir DIR] [--quiet] alias set NAME URL ACCESS_KEY SECRET_KEY
//	mc admin info ALIAS
//	mc admin user add ALIAS ACCESS_KEY SECRET_KEY
//	mc admin policy create ALIAS NAME FILE
//	mc admin policy attach ALIAS POLICY --user USER
//	mc mb [--ignore-existing] ALIAS/BUCKET
//	mc ls [--recursive] ALIAS/BUCKET[/PREFIX]      (--recursive: a local directory too)
//	mc mirror [--overwrite] [--remove] SOURCE TARGET   (each ALIAS/BUCKET[/PREFIX] or a directory)
//
// Anything else exits 1 with "not in the stand-in". Aliases live in DIR/config.json (0600), as
// mc keeps them. `alias set` checks the server and the key (a ListBuckets; a key that may not
// list buckets is still a valid key). mirror compares as mc does (see mirror below); it copies
// one object at a time where mc copies several at once.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/minio/madmin-go/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const version = "mc stand-in (qingyu verify/node/images/mc; minio-go v7.0.49, madmin-go v2.0.16)"

type alias struct {
	URL       string `json:"url"`
	AccessKey string `json:"accessKey"`
	SecretKey string `json:"secretKey"`
	API       string `json:"api"`
	Path      string `json:"path"`
}

type config struct {
	Version string           `json:"version"`
	Aliases map[string]alias `json:"aliases"`
}

var configDir = filepath.Join(os.Getenv("HOME"), ".mc")

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "mc: <ERROR> %v\n", err)
		os.Exit(1)
	}
}

// flags splits ARGS into positional arguments and the flags it knows (value flags take the
// next argument).
func flags(args []string, bools map[string]*bool, values map[string]*string) ([]string, error) {
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-") || a == "-":
			pos = append(pos, a)
		case bools[name] != nil:
			*bools[name] = true
		case values[name] != nil:
			if !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("%s needs a value", a)
				}
				i++
				val = args[i]
			}
			*values[name] = val
		default:
			return nil, fmt.Errorf("flag %s is not in the stand-in", a)
		}
	}
	return pos, nil
}

func run(args []string) error {
	var quiet, showVersion, ignore, recursive, overwrite, remove bool
	var user string
	pos, err := flags(args,
		map[string]*bool{"quiet": &quiet, "q": &quiet, "no-color": &quiet, "disable-pager": &quiet, "version": &showVersion,
			"ignore-existing": &ignore, "p": &ignore, "recursive": &recursive, "r": &recursive, "overwrite": &overwrite, "remove": &remove},
		map[string]*string{"config-dir": &configDir, "C": &configDir, "user": &user})
	if err != nil {
		return err
	}
	if showVersion {
		fmt.Println(version)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := strings.Join(pos[:min(len(pos), 3)], " ")
	switch {
	case len(pos) == 6 && strings.HasPrefix(cmd, "alias set"):
		return aliasSet(ctx, pos[2], pos[3], pos[4], pos[5])
	case len(pos) == 3 && pos[0] == "admin" && pos[1] == "info":
		adm, err := admin(pos[2])
		if err != nil {
			return err
		}
		info, err := adm.ServerInfo(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("mode: %s, servers: %d, deployment: %s\n", info.Mode, len(info.Servers), info.DeploymentID)
		return nil
	case len(pos) == 6 && cmd == "admin user add":
		adm, err := admin(pos[3])
		if err != nil {
			return err
		}
		if err := adm.AddUser(ctx, pos[4], pos[5]); err != nil {
			return err
		}
		fmt.Printf("Added user `%s` successfully.\n", pos[4])
		return nil
	case len(pos) == 6 && cmd == "admin policy create":
		adm, err := admin(pos[3])
		if err != nil {
			return err
		}
		doc, err := os.ReadFile(pos[5])
		if err != nil {
			return err
		}
		if err := adm.AddCannedPolicy(ctx, pos[4], doc); err != nil {
			return err
		}
		fmt.Printf("Created policy `%s` successfully.\n", pos[4])
		return nil
	case len(pos) == 5 && cmd == "admin policy attach" && user != "":
		adm, err := admin(pos[3])
		if err != nil {
			return err
		}
		if err := adm.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: []string{pos[4]}, User: user}); err != nil {
			return err
		}
		fmt.Printf("Attached Policies: [%s] To User: %s\n", pos[4], user)
		return nil
	case len(pos) == 2 && pos[0] == "mb":
		c, bucket, _, err := target(pos[1])
		if err != nil {
			return err
		}
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			code := minio.ToErrorResponse(err).Code
			if !(ignore && (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists")) {
				return fmt.Errorf("unable to make bucket `%s`. %v", pos[1], err)
			}
		}
		fmt.Printf("Bucket created successfully `%s`.\n", pos[1])
		return nil
	case len(pos) == 2 && pos[0] == "ls":
		return ls(ctx, pos[1], recursive)
	case len(pos) == 3 && pos[0] == "mirror":
		return mirror(ctx, pos[1], pos[2], overwrite, remove)
	}
	return fmt.Errorf("%q is not in the stand-in (alias set; admin info, user add, policy create/attach; mb; ls; mirror)", strings.Join(args, " "))
}

func load() config {
	cfg := config{Version: "10", Aliases: map[string]alias{}}
	if b, err := os.ReadFile(filepath.Join(configDir, "config.json")); err == nil {
		_ = json.Unmarshal(b, &cfg)
		if cfg.Aliases == nil {
			cfg.Aliases = map[string]alias{}
		}
	}
	return cfg
}

func save(cfg config) error {
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(cfg, "", "\t")
	return os.WriteFile(filepath.Join(configDir, "config.json"), b, 0o600)
}

func clientFor(a alias) (*minio.Client, error) {
	u, err := url.Parse(a.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad URL %q", a.URL)
	}
	return minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(a.AccessKey, a.SecretKey, ""), Secure: u.Scheme == "https", Region: "us-east-1"})
}

func aliasSet(ctx context.Context, name, rawURL, ak, sk string) error {
	a := alias{URL: strings.TrimRight(rawURL, "/"), AccessKey: ak, SecretKey: sk, API: "s3v4", Path: "auto"}
	c, err := clientFor(a)
	if err != nil {
		return err
	}
	if _, err := c.ListBuckets(ctx); err != nil && minio.ToErrorResponse(err).Code != "AccessDenied" {
		return fmt.Errorf("unable to initialize new alias from the provided credentials. %v", err)
	}
	cfg := load()
	cfg.Aliases[name] = a
	if err := save(cfg); err != nil {
		return err
	}
	fmt.Printf("Added `%s` successfully.\n", name)
	return nil
}

func lookup(name string) (alias, error) {
	a, ok := load().Aliases[name]
	if !ok {
		return a, fmt.Errorf("no alias %q in %s", name, configDir)
	}
	return a, nil
}

func admin(name string) (*madmin.AdminClient, error) {
	a, err := lookup(name)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(a.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("bad URL %q", a.URL)
	}
	return madmin.New(u.Host, a.AccessKey, a.SecretKey, u.Scheme == "https")
}

// target: ALIAS/BUCKET[/PREFIX] -> client, bucket, prefix.
func target(s string) (*minio.Client, string, string, error) {
	name, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" {
		return nil, "", "", fmt.Errorf("%q is not ALIAS/BUCKET", s)
	}
	a, err := lookup(name)
	if err != nil {
		return nil, "", "", err
	}
	c, err := clientFor(a)
	if err != nil {
		return nil, "", "", err
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return c, bucket, prefix, nil
}

// isRemote: ALIAS/... with a known alias (anything else is a local path), as mc decides.
func isRemote(s string) bool {
	name, _, ok := strings.Cut(s, "/")
	if !ok || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return false
	}
	_, err := lookup(name)
	return err == nil
}

// partSuffix: mc's (and minio-go's) suffix of a download in progress; listings skip such files.
const partSuffix = ".part.minio"

// item: one object or regular file of a listing, by its key relative to the listed folder.
type item struct {
	size  int64
	mtime time.Time
}

// side: one end of ls or mirror, an ALIAS/BUCKET[/PREFIX] or a local directory.
type side struct {
	arg    string
	client *minio.Client // nil: local
	bucket string
	prefix string // "" or ending in "/"
	dir    string // local
}

func open(arg string) (side, error) {
	if !isRemote(arg) {
		return side{arg: arg, dir: filepath.Clean(arg)}, nil
	}
	c, bucket, prefix, err := target(arg)
	return side{arg: arg, client: c, bucket: bucket, prefix: prefix}, err
}

// url: how mc names an entry of the side in its messages (the alias path, or the local path).
func (s side) url(rel string) string {
	if s.client == nil {
		return filepath.Join(s.dir, filepath.FromSlash(rel))
	}
	return strings.TrimRight(s.arg, "/") + "/" + rel
}

// isFolder: the side exists as a folder (a bucket, a prefix, or a directory), as mirror requires
// of its source.
func (s side) isFolder(ctx context.Context) error {
	if s.client == nil {
		fi, err := os.Stat(s.dir)
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return fmt.Errorf("source `%s` is not a folder. Only folders are supported by mirror command", s.arg)
		}
		return nil
	}
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket `%s` does not exist", s.bucket)
	}
	return nil
}

// list: every object (regular file) under the side, recursively; a missing local directory is
// empty, as mc lists it. Keys ending in "/" (folder markers) are not objects to copy.
func (s side) list(ctx context.Context) (map[string]item, error) {
	out := map[string]item{}
	if s.client != nil {
		for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
			if o.Err != nil {
				return nil, o.Err
			}
			if strings.HasSuffix(o.Key, "/") {
				continue
			}
			out[strings.TrimPrefix(o.Key, s.prefix)] = item{o.Size, o.LastModified}
		}
		return out, nil
	}
	err := filepath.WalkDir(s.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == s.dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, partSuffix) {
			return nil
		}
		fi, err := os.Stat(p) // symbolic links followed, as mc does
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(s.dir, p)
		out[filepath.ToSlash(rel)] = item{fi.Size(), fi.ModTime()}
		return nil
	})
	return out, err
}

// ls prints the listing as mc ls does: "[time] size [class] key", keys relative to the folder.
func ls(ctx context.Context, arg string, recursive bool) error {
	s, err := open(arg)
	if err != nil {
		return err
	}
	if !recursive {
		if s.client == nil {
			return errors.New("ls of a local directory without --recursive is not in the stand-in")
		}
		for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix}) {
			if o.Err != nil {
				return fmt.Errorf("unable to list folder. %v", o.Err)
			}
			printEntry(o.LastModified, o.Size, "STANDARD", strings.TrimPrefix(o.Key, s.prefix))
		}
		return nil
	}
	if s.client == nil {
		if _, err := os.Stat(s.dir); err != nil {
			return fmt.Errorf("unable to list folder. %v", err)
		}
	}
	items, err := s.list(ctx)
	if err != nil {
		return fmt.Errorf("unable to list folder. %v", err)
	}
	class := ""
	if s.client != nil {
		class = "STANDARD"
	}
	for _, k := range sortedKeys(items) {
		printEntry(items[k].mtime, items[k].size, class, k)
	}
	return nil
}

func printEntry(t time.Time, size int64, class, key string) {
	line := fmt.Sprintf("[%s] %7s", t.Local().Format("2006-01-02 15:04:05 MST"), iBytes(size))
	if class != "" {
		line += " " + class
	}
	fmt.Println(line + " " + key)
}

// iBytes: the size as mc prints it (go-humanize's IBytes without its space: 0B, 512B, 1.2KiB).
func iBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	v, units := float64(n), []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	u := -1
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if v < 10 {
		return fmt.Sprintf("%.1f%s", v, units[u])
	}
	return fmt.Sprintf("%.0f%s", v, units[u])
}

func sortedKeys(m map[string]item) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mirror makes TARGET hold SOURCE's objects, as mc mirror (cmd/mirror-url.go, difference.go of
// the pinned release) decides object by object:
//   - only in the source: copied;
//   - in both, and the size differs or the source is newer than the target: copied with
//     --overwrite; without it mc reports "Overwrite not allowed" and goes on (not a failure);
//   - in both, same size, the source not newer: left alone;
//   - only in the target: removed with --remove, else left.
//
// The source must be a folder (mc stats it first); a missing target directory is empty. Each copy
// prints "`SRC` -> `DST`" and each removal "Removed `DST`.", as mc --quiet does; any other error
// stops the mirror and exits 1.
func mirror(ctx context.Context, srcArg, dstArg string, overwrite, remove bool) error {
	src, err := open(srcArg)
	if err != nil {
		return err
	}
	dst, err := open(dstArg)
	if err != nil {
		return err
	}
	if (src.client == nil) == (dst.client == nil) {
		return errors.New("mirror: one side must be ALIAS/BUCKET, the other a directory (in the stand-in)")
	}
	if err := src.isFolder(ctx); err != nil {
		return fmt.Errorf("unable to stat source `%s`. %v", srcArg, err)
	}
	have, err := src.list(ctx)
	if err != nil {
		return fmt.Errorf("failed to perform mirroring. %v", err)
	}
	there, err := dst.list(ctx)
	if err != nil {
		return fmt.Errorf("failed to perform mirroring. %v", err)
	}
	for _, k := range sortedKeys(have) {
		s := have[k]
		if t, ok := there[k]; ok {
			why := ""
			switch {
			case s.size != t.size:
				why = "size"
			case s.mtime.After(t.mtime):
				why = "mm-source-mtime"
			}
			if why == "" {
				continue
			}
			if !overwrite {
				fmt.Fprintf(os.Stderr, "mc: <ERROR> Failed to perform mirroring, with error condition (%s). Overwrite not allowed for `%s`. Use `--overwrite` to override this behavior.\n", why, dst.url(k))
				continue
			}
		}
		fmt.Printf("`%s` -> `%s`\n", src.url(k), dst.url(k))
		if err := copyOne(ctx, src, dst, k); err != nil {
			return fmt.Errorf("failed to copy `%s`. %v", src.url(k), err)
		}
	}
	if remove {
		for _, k := range sortedKeys(there) {
			if _, ok := have[k]; ok {
				continue
			}
			if dst.client == nil {
				err = os.Remove(dst.url(k))
			} else {
				err = dst.client.RemoveObject(ctx, dst.bucket, dst.prefix+k, minio.RemoveObjectOptions{})
			}
			if err != nil {
				return fmt.Errorf("failed to remove `%s`. %v", dst.url(k), err)
			}
			fmt.Printf("Removed `%s`.\n", dst.url(k))
		}
	}
	return nil
}

func copyOne(ctx context.Context, src, dst side, key string) error {
	if src.client != nil {
		// minio-go writes KEY.ETAG.part.minio beside the file and renames it: no half-written file.
		return src.client.FGetObject(ctx, src.bucket, src.prefix+key, dst.url(key), minio.GetObjectOptions{})
	}
	_, err := dst.client.FPutObject(ctx, dst.bucket, dst.prefix+key, src.url(key), minio.PutObjectOptions{})
	return err
}
