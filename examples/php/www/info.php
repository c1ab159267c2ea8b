<?php
header('Content-Type: text/plain; charset=utf-8');
foreach (['REQUEST_URI', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'DOCUMENT_ROOT',
          'REMOTE_ADDR', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL'] as $k) {
  printf("%-16s %s\n", $k, $_SERVER[$k] ?? '');
}
