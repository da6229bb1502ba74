"""The archive-agnostic VO server machinery: TAP/ADQL/UWS, DataLink, SCS, RegTAP, file trees and faults."""
