// DicomNet: the DICOM Upper Layer (PS3.8) and DIMSE services (PS3.7), SCP and SCU.
// It stands on Codec for data sets and knows nothing of the store.
import Codec
