"""Everything that writes retention data: policies, runs, legal holds, erasures, exports."""
