#!/usr/bin/env node
/**
 * kubectl_complete-nsreport: what kubectl (≥ 1.26) runs to complete `kubectl nsreport …`, with
 * the words after `nsreport` (k8s.io/kubectl/pkg/cmd/plugin/plugin_completion.go). It is
 * `nsreport __complete WORD…`.
 */
process.argv.splice(2, 0, '__complete');
await import('./main.js');
