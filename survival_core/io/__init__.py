"""Reading user inputs: DICOM series and RTSTRUCTs, NIfTI/NRRD volumes and masks, uploaded archives,
clinical values, and whole cases built from them."""
