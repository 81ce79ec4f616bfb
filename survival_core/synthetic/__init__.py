"""The synthetic cohort generator: phantom anatomy, simulated scanners and patients, and the
folders (cohort, TCIA-like download) it writes. The imaging ground truth of the demo and the tests."""
