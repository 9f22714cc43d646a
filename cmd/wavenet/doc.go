// Command wavenet trains, runs and serves WaveNet models; see README.md.
package main
