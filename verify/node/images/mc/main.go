// Command mc is a stand-in for the MinIO client (quay.io/minio/mc) in the node verification: the
// proxy refuses mc's release pseudo-version. It implements the commands the platform's scripts
// run (charts/milvus/assets: provision.sh, backup-bucket.sh, restore-bucket.sh), with MinIO's own
// client libraries (minio-go, madmin-go at the versions the platform's MinIO release requires):
//
//	mc [--config-dir DIR] [--quiet] alias set NAME URL ACCESS_KEY SECRET_KEY
//	mc admin info ALIAS
//	mc admin user add ALIAS ACCESS_KEY SECRET_KEY
//	mc admin policy create ALIAS NAME FILE
//	mc admin policy attach ALIAS POLICY --user USER
//	mc mb [--ignore-existing] ALIAS/BUCKET
//	mc ls [--recursive] ALIAS/BUCKET[/PREFIX]
//	mc mirror [--overwrite] [--remove] SOURCE TARGET   (each ALIAS/BUCKET[/PREFIX] or a directory)
//
// Anything else exits 1 with "not in the stand-in". Aliases live in DIR/config.json (0600), as
// mc keeps them. `alias set` checks the server and the key (a ListBuckets; a key that may not
// list buckets is still a valid key).
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
		c, bucket, prefix, err := target(pos[1])
		if err != nil {
			return err
		}
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: recursive}) {
			if o.Err != nil {
				return o.Err
			}
			fmt.Printf("[%s] %6dB %s\n", o.LastModified.UTC().Format("2006-01-02 15:04:05 MST"), o.Size, strings.TrimPrefix(o.Key, prefix))
		}
		return nil
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

// isRemote: ALIAS/... with a known alias (anything else is a local path).
func isRemote(s string) bool {
	name, _, ok := strings.Cut(s, "/")
	if !ok || strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return false
	}
	_, err := lookup(name)
	return err == nil
}

func mirror(ctx context.Context, src, dst string, overwrite, remove bool) error {
	n := 0
	switch {
	case isRemote(src) && !isRemote(dst):
		c, bucket, prefix, err := target(src)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				return o.Err
			}
			rel := strings.TrimPrefix(o.Key, prefix)
			keep[rel] = true
			path := filepath.Join(dst, filepath.FromSlash(rel))
			if _, err := os.Stat(path); err == nil && !overwrite {
				continue
			}
			if err := c.FGetObject(ctx, bucket, o.Key, path, minio.GetObjectOptions{}); err != nil {
				return err
			}
			n++
		}
		if remove {
			_ = filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if rel, _ := filepath.Rel(dst, p); !keep[filepath.ToSlash(rel)] {
						_ = os.Remove(p)
					}
				}
				return nil
			})
		}
	case !isRemote(src) && isRemote(dst):
		c, bucket, prefix, err := target(dst)
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		var files []string
		if err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		}); err != nil {
			return err
		}
		sort.Strings(files)
		for _, p := range files {
			rel, _ := filepath.Rel(src, p)
			key := prefix + filepath.ToSlash(rel)
			keep[key] = true
			if !overwrite {
				if _, err := c.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err == nil {
					continue
				}
			}
			if _, err := c.FPutObject(ctx, bucket, key, p, minio.PutObjectOptions{}); err != nil {
				return err
			}
			n++
		}
		if remove {
			for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
				if o.Err == nil && !keep[o.Key] {
					if err := c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
						return err
					}
				}
			}
		}
	default:
		return errors.New("mirror: one side must be ALIAS/BUCKET, the other a directory (in the stand-in)")
	}
	fmt.Printf("%d object(s) mirrored from %s to %s\n", n, src, dst)
	return nil
}
