/** The XML reader lives with the lab code (decoyd audit reads nmap's XML too). */
export * from '../../daemon/src/lab/xml-lite';
