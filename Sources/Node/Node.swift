// Node: the store, the metadata index and the engine (rules, forwarding, boxes, watches, anonymization).
import Codec
import DicomNet
