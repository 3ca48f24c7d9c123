package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moslora/moslora/serve"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	var opt serve.Options
	var host, logFormat string
	var port int
	var noBatching bool
	var shutdownTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "serve --model DIR [--adapters DIR] [--host 127.0.0.1] [--port 8080] [--api-key KEY]",
		Short: "Serve the model and its adapters behind an OpenAI-compatible API (batched across adapters)",
		Long: `serve loads the model in --model and every adapter folder under --adapters (each named by its
folder) and answers the OpenAI API: GET /v1/models, POST /v1/completions, POST /v1/chat/completions
(stream: true for server-sent events). A request's "model" picks the adapter by its folder name,
or the base model by --served-model-name (default: the model folder's name, or org/name for a hub
name given as --model). Concurrent requests
share forward passes (continuous batching), requests for different adapters included; a request's
greedy output is the same batched or alone, and the same as "moslora generate".

With --allow-runtime-lora, POST /v1/load_lora_adapter {"lora_name": N, "lora_path": P} and
/v1/unload_lora_adapter {"lora_name": N} load and unload adapters at run time; P must be a folder
inside --adapters (no absolute paths, no "..", no symlinks out of it).

GET /health answers without a key; GET /metrics serves Prometheus metrics. Logs are structured
(--log-format json or text) on standard error. SIGTERM or Ctrl-C stops accepting connections,
finishes the requests in flight (up to --shutdown-timeout) and exits 0.

Every flag can also come from the environment as MOSLORA_ + the flag name in upper case with
underscores (MOSLORA_API_KEY, MOSLORA_PORT, MOSLORA_MODEL, ...); a flag on the command line wins.
The default --host is the loopback interface: pass --host 0.0.0.0 (with --api-key) to listen on
the network.`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			fromCLI := cmd.Flags().Changed("model") // already resolved by the root's model_arg.go
			if err := flagsFromEnv(cmd.Flags()); err != nil {
				return err
			}
			if !fromCLI { // MOSLORA_MODEL may be a hub name too
				dir, err := resolveModel(cmd, opt.ModelDir)
				if err != nil {
					return fmt.Errorf("MOSLORA_MODEL %s: %w", opt.ModelDir, err)
				}
				opt.ModelDir = dir
			}
			if opt.ModelName == "" {
				opt.ModelName = hubName(opt.ModelDir)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler
			switch logFormat {
			case "json":
				h = slog.NewJSONHandler(cmd.ErrOrStderr(), nil)
			case "text":
				h = slog.NewTextHandler(cmd.ErrOrStderr(), nil)
			default:
				return fmt.Errorf("--log-format %q: expected json or text", logFormat)
			}
			log := slog.New(h)
			opt.Logger = log
			if noBatching {
				opt.MaxBatch = 1
			}
			if port < 0 || port > 65535 {
				return fmt.Errorf("--port %d: expected 0 to 65535", port)
			}
			srv, err := serve.New(opt)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				srv.Close()
				return fmt.Errorf("--host %s --port %d: %v", host, port, err)
			}
			if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" && opt.APIKey == "" {
				log.Warn("listening beyond the loopback interface without --api-key: anyone who can reach this port can use the server")
			}
			hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 30 * time.Second}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/v1")
			select {
			case err := <-served:
				srv.Close()
				return err
			case <-ctx.Done():
			}
			log.Info("shutting down: no new connections; finishing the requests in flight", "timeout", shutdownTimeout.String())
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			err = hs.Shutdown(sctx)
			srv.Close()
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("requests still running after --shutdown-timeout %v; stopped", shutdownTimeout)
			}
			log.Info("stopped")
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.ModelDir, "model", "", "Hugging Face model folder (config.json, safetensors, tokenizer.json)")
	f.StringVar(&opt.AdaptersDir, "adapters", "", "folder whose subfolders are adapters (PEFT or MoSLoRA), served by folder name")
	f.StringVar(&opt.ModelName, "served-model-name", "", "the base model's name in requests (default: the --model folder's name, or org/name for a hub model)")
	f.StringVar(&host, "host", "127.0.0.1", "interface to listen on")
	f.IntVar(&port, "port", 8080, "TCP port (0: any free port, printed in the log)")
	f.StringVar(&opt.APIKey, "api-key", "", `require "Authorization: Bearer KEY" on /v1/ (better from MOSLORA_API_KEY)`)
	f.StringVar(&opt.BaseDtype, "base-dtype", "auto", baseDtypeUsage)
	f.BoolVar(&opt.RuntimeLoad, "allow-runtime-lora", false, "enable /v1/load_lora_adapter and /v1/unload_lora_adapter")
	f.IntVar(&opt.MaxBatch, "max-batch", 32, "sequences decoded together at most (1 = no batching)")
	f.BoolVar(&noBatching, "no-batching", false, "one sequence at a time (same as --max-batch 1)")
	f.IntVar(&opt.MaxQueue, "max-queue", 256, "requests waiting for a place in the batch before 429")
	f.IntVar(&opt.MaxContext, "max-context", 0, "prompt + completion tokens of one request (0: the model's position limit)")
	f.Int64Var(&opt.MaxBody, "max-body", 1<<20, "request body limit in bytes")
	f.DurationVar(&opt.Timeout, "request-timeout", 5*time.Minute, "time limit of one request, queueing included")
	f.DurationVar(&shutdownTimeout, "shutdown-timeout", 10*time.Minute, "how long SIGTERM waits for requests in flight")
	f.StringVar(&logFormat, "log-format", "json", "log format on standard error: json or text")
	rootCmd.AddCommand(cmd)
}

// hubName is "org/name" for a folder of the Hugging Face cache (…/models--org--name/snapshots/C),
// the name vLLM would serve it under; "" for any other folder (the server then uses its name).
func hubName(dir string) string {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(dir)), "/")
	for i := len(parts) - 3; i >= 0; i-- {
		if repo, ok := strings.CutPrefix(parts[i], "models--"); ok && parts[i+1] == "snapshots" {
			return strings.ReplaceAll(repo, "--", "/")
		}
	}
	return ""
}

// flagsFromEnv sets every flag not given on the command line from MOSLORA_<NAME> (upper case,
// dashes as underscores) when that variable is set.
func flagsFromEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "MOSLORA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	if err == nil {
		if m, _ := fs.GetString("model"); m == "" {
			err = fmt.Errorf("--model (or MOSLORA_MODEL) is required")
		}
	}
	return err
}
